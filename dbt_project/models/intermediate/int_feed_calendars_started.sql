{#- Each feed calendar row with where its calendar starts and what it has delivered, as the
    build judged them (core/feed_status.py, through stg_csp__feed_statuses): the configured
    calendar_start or the first period ever delivered (non-rejected), whichever is earlier.
    A feed that never delivered and has no configured start has no calendar yet. -#}
with

calendar as (

    select * from {{ ref('stg_csp__feed_calendar') }}

),

statuses as (

    select * from {{ ref('stg_csp__feed_statuses') }}

),

final as (

    select
        calendar.feed_key,
        calendar.feed,
        calendar.partner,
        calendar.is_per_partner,
        case
            when calendar.is_per_partner then calendar.feed || ' (' || calendar.partner || ')'
            else calendar.feed
        end as feed_label,
        calendar.cadence,
        calendar.due_months_after_period_end,
        calendar.due_days_after_period_end,
        calendar.calendar_start,
        calendar.suspended_since,
        calendar.suspension_reason,
        statuses.first_delivered_period_start,
        statuses.last_delivered_period_start,
        coalesce(statuses.delivery_count, 0) as delivery_count,
        statuses.effective_calendar_start

    from calendar
    left join statuses
        on calendar.feed_key = statuses.feed_key

)

select * from final
