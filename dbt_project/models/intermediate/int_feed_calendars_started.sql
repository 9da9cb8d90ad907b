{#- Each feed calendar row with the period its calendar starts at: the first period the feed
    ever delivered (non-rejected), or the configured calendar_start when that is earlier.
    A feed that never delivered and has no configured start has no calendar yet. -#}
with

calendar as (

    select * from {{ ref('stg_csp__feed_calendar') }}

),

deliveries as (

    select * from {{ ref('int_feed_deliveries_matched') }}
    where status <> 'rejected'

),

delivered_span as (

    select
        feed_key,
        min(period_start) as first_delivered_period_start,
        max(period_start) as last_delivered_period_start,
        count(*) as delivery_count

    from deliveries
    group by feed_key

),

started as (

    select
        calendar.*,
        delivered_span.first_delivered_period_start,
        delivered_span.last_delivered_period_start,
        coalesce(delivered_span.delivery_count, 0) as delivery_count,
        case
            when calendar.calendar_start is not null
                and (delivered_span.first_delivered_period_start is null
                     or calendar.calendar_start < delivered_span.first_delivered_period_start)
                then calendar.calendar_start
            else delivered_span.first_delivered_period_start
        end as raw_calendar_start

    from calendar
    left join delivered_span
        on calendar.feed_key = delivered_span.feed_key

),

final as (

    select
        feed_key,
        feed,
        partner,
        is_per_partner,
        case when is_per_partner then feed || ' (' || partner || ')' else feed end as feed_label,
        cadence,
        due_months_after_period_end,
        due_days_after_period_end,
        calendar_start,
        suspended_since,
        suspension_reason,
        first_delivered_period_start,
        last_delivered_period_start,
        delivery_count,
        case
            when cadence = 'monthly' then {{ month_start('raw_calendar_start') }}
            else {{ quarter_start('raw_calendar_start') }}
        end as effective_calendar_start

    from started

)

select * from final
