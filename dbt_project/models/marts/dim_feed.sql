with

calendars as (

    select * from {{ ref('int_feed_calendars_started') }}

),

final as (

    select
        feed_key,
        feed,
        partner,
        cadence,
        due_months_after_period_end,
        due_days_after_period_end,
        calendar_start,
        effective_calendar_start,
        first_delivered_period_start,
        last_delivered_period_start,
        delivery_count,
        suspended_since is not null as is_suspended,
        suspended_since,
        suspension_reason

    from calendars

)

select * from final
