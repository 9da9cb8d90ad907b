with

deliveries as (

    select * from {{ ref('int_feed_deliveries_matched') }}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

final as (

    select
        deliveries.delivery_id,
        deliveries.feed_key,
        deliveries.feed,
        deliveries.partner,
        deliveries.file_name,
        deliveries.sha256,
        deliveries.period_label,
        deliveries.period_start,
        deliveries.period_end,
        quarters.fiscal_quarter,
        deliveries.row_count,
        deliveries.received_at,
        deliveries.status,
        deliveries.rejection_reason,
        deliveries.is_current,
        deliveries.la_code

    from deliveries
    left join quarters
        on {{ quarter_start('deliveries.period_start') }} = quarters.quarter_start

)

select * from final
