{#- Is each partner feed on time? One row per feed calendar row, judged on as_of, giving the
    same answers as feed_status() in orchestration/feed_status.py: the last period delivered,
    the next period due, the periods overdue and a state. -#}
with

calendars as (

    select * from {{ ref('int_feed_calendars_started') }}

),

periods as (

    select * from {{ ref('int_feed_periods_judged') }}

),

deliveries as (

    select * from {{ ref('int_feed_deliveries_matched') }}
    where feed_key is not null

),

accepted_ranked as (

    -- The accepted delivery for the latest period; ties go to the later arrival, then to
    -- the earlier delivery (as Python's max keeps the first of equals).
    select
        feed_key,
        period_label,
        received_at,
        row_number() over (
            partition by feed_key
            order by period_start desc, received_at desc nulls last, delivery_id
        ) as delivery_rank

    from deliveries
    where status <> 'rejected'
        and period_start is not null

),

rejected_ranked as (

    select
        feed_key,
        file_name,
        row_number() over (
            partition by feed_key
            order by received_at desc nulls last, delivery_id
        ) as delivery_rank

    from deliveries
    where status = 'rejected'

),

overdue as (

    select
        feed_key,
        count(*) as overdue_count,
        {{ dbt.listagg('period_label', "', '", 'order by period_start') }} as overdue_periods,
        min(due_date) as first_overdue_due_date

    from periods
    where is_overdue
    group by feed_key

),

next_due as (

    select
        feed_key,
        period_label as next_period,
        due_date as next_due_date

    from periods
    where is_next_due

),

feeds as (

    select
        calendars.feed_key,
        calendars.feed,
        calendars.partner,
        calendars.cadence,
        calendars.effective_calendar_start,
        calendars.suspended_since,
        calendars.suspension_reason,
        calendars.suspended_since is not null
            and calendars.suspended_since <= {{ as_of_date() }} as is_suspended,
        last_accepted.period_label as last_period,
        last_accepted.received_at as last_received_at,
        last_rejected.file_name as last_quarantined_file,
        next_due.next_period,
        next_due.next_due_date,
        coalesce(overdue.overdue_count, 0) as overdue_count,
        overdue.overdue_periods,
        overdue.first_overdue_due_date

    from calendars
    left join accepted_ranked as last_accepted
        on calendars.feed_key = last_accepted.feed_key
        and last_accepted.delivery_rank = 1
    left join rejected_ranked as last_rejected
        on calendars.feed_key = last_rejected.feed_key
        and last_rejected.delivery_rank = 1
    left join next_due
        on calendars.feed_key = next_due.feed_key
    left join overdue
        on calendars.feed_key = overdue.feed_key

),

final as (

    select
        {{ partnership_la_code() }} as la_code,
        feed_key,
        feed,
        partner,
        cadence,
        {{ as_of_date() }} as as_of_date,
        -- A declared suspension wins: a suspended feed pages nobody, started or not.
        case
            when is_suspended then 'suspended'
            when effective_calendar_start is null then 'not started'
            when overdue_count >= 2 then 'stopped'
            when overdue_count = 1 then 'late'
            else 'on time'
        end as state,
        last_period,
        last_received_at,
        case when not is_suspended then next_period end as next_period,
        case when not is_suspended then next_due_date end as next_due_date,
        overdue_count,
        overdue_periods,
        first_overdue_due_date,
        suspended_since,
        suspension_reason,
        last_quarantined_file,
        coalesce(
            not is_suspended
            and next_due_date >= {{ as_of_date() }}
            and next_due_date <= {{ add_days(as_of_date(), 3) }},
            false
        ) as is_due_soon

    from feeds

)

select * from final
