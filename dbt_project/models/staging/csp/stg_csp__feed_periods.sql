{#- Every period each feed calendar row expects, as core/feed_status.py judged it on the
    build's as-of date (due date, delivered, past due, overdue, next due). -#}
with

source as (

    select * from {{ source('raw', 'feed_periods') }}

),

renamed as (

    select
        cast(as_of_date as date) as as_of_date,
        feed_key,
        feed,
        partner,
        period_label,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(quarter_start as date) as quarter_start,
        cast(due_date as date) as due_date,
        is_delivered,
        cast(latest_delivery_id as integer) as latest_delivery_id,
        is_past_due,
        is_overdue,
        is_next_due,
        is_expected,
        is_through_as_of_quarter

    from source

),

final as (

    select * from renamed

)

select * from final
