{#- Each feed calendar row as core/feed_status.py judged it on the build's as-of date: the
    calendar rule's one home; the models read its answers and never judge the calendar again. -#}
with

source as (

    select * from {{ source('raw', 'feed_status') }}

),

renamed as (

    select
        cast(as_of_date as date) as as_of_date,
        feed_key,
        feed,
        partner,
        cast(effective_calendar_start as date) as effective_calendar_start,
        cast(first_delivered_period_start as date) as first_delivered_period_start,
        cast(last_delivered_period_start as date) as last_delivered_period_start,
        cast(delivery_count as integer) as delivery_count,
        state,
        last_period,
        last_received_at,
        next_period,
        cast(next_due_date as date) as next_due_date,
        cast(overdue_count as integer) as overdue_count,
        last_quarantined_file,
        is_due_soon

    from source

),

final as (

    select * from renamed

)

select * from final
