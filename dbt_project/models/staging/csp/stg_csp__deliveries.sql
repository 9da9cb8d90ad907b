with

source as (

    select * from {{ source('raw', 'deliveries') }}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        feed,
        partner,
        file_name,
        sha256,
        period_label,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(row_count as integer) as row_count,
        received_at,
        status,
        rejection_reason,
        la_code,
        -- A later delivery for the same period supersedes the earlier one whatever status
        -- ingest has written on it yet; rejected files never supersede anything.
        max(case when status <> 'rejected' then delivery_id end) over (
            partition by feed, partner, period_label
        ) as latest_delivery_id

    from source

),

final as (

    select
        delivery_id,
        feed,
        partner,
        file_name,
        sha256,
        period_label,
        period_start,
        period_end,
        row_count,
        received_at,
        status,
        rejection_reason,
        la_code,
        (status = 'loaded' and delivery_id = latest_delivery_id) as is_current,
        -- Models kept incrementally (fct_crime) revisit the rows of a delivery once a later
        -- one has replaced it since their last run.
        case
            when status <> 'rejected' and delivery_id <> latest_delivery_id
                then latest_delivery_id
        end as superseded_by

    from renamed

)

select * from final
