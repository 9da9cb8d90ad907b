{#- Data status of each feed in each reported quarter, judged on as_of (docs/indicators.md):
    suspended > not_expected > ok > missing > pending. A period is missing only when as_of
    is later than its due date; on the due date itself it is still pending. The periods, their
    due dates and whether each is past due come from core/feed_status.py
    (stg_csp__feed_periods); the quarter's status is decided here. -#}
with

calendars as (

    select * from {{ ref('int_feed_calendars_started') }}

),

periods as (

    -- What the quarter statuses count: every period through the quarter holding as_of,
    -- those after a suspension included (their quarter is reported as suspended).
    select * from {{ ref('stg_csp__feed_periods') }}
    where is_through_as_of_quarter

),

quarters as (

    select * from {{ ref('int_reporting_quarters_spanned') }}

),

periods_judged as (

    select
        periods.feed_key,
        periods.quarter_start,
        periods.period_start,
        periods.is_delivered,
        {{ feed_absence("calendars.feed_label || ' ' || periods.period_label",
                        'periods.is_delivered', 'periods.due_date', 'periods.is_past_due') }}

    from periods
    inner join calendars
        on periods.feed_key = calendars.feed_key

),

quarter_periods as (

    select
        feed_key,
        quarter_start,
        count(*) as expected_periods,
        sum(case when is_delivered then 1 else 0 end) as delivered_periods,
        sum(case when is_overdue then 1 else 0 end) as overdue_periods,
        {{ dbt.listagg("case when is_overdue then absence_note end", "'; '", "order by period_start") }}
            as overdue_note,
        {{ dbt.listagg("case when not is_delivered then absence_note end", "'; '", "order by period_start") }}
            as absent_note

    from periods_judged
    group by feed_key, quarter_start

),

feed_quarters as (

    select
        calendars.feed_key,
        calendars.feed,
        calendars.partner,
        calendars.feed_label,
        calendars.effective_calendar_start,
        calendars.suspended_since,
        calendars.suspension_reason,
        quarters.quarter_start,
        quarters.quarter_end,
        quarters.fiscal_quarter,
        coalesce(quarter_periods.expected_periods, 0) as expected_periods,
        coalesce(quarter_periods.delivered_periods, 0) as delivered_periods,
        coalesce(quarter_periods.overdue_periods, 0) as overdue_periods,
        quarter_periods.overdue_note,
        quarter_periods.absent_note

    from calendars
    cross join quarters
    left join quarter_periods
        on calendars.feed_key = quarter_periods.feed_key
        and quarters.quarter_start = quarter_periods.quarter_start

),

final as (

    select
        feed_key,
        feed,
        partner,
        quarter_start,
        fiscal_quarter,
        expected_periods,
        delivered_periods,
        case
            when suspended_since is not null and quarter_end > suspended_since then 'suspended'
            when effective_calendar_start is null or quarter_end < effective_calendar_start then 'not_expected'
            when delivered_periods = expected_periods then 'ok'
            when overdue_periods > 0 then 'missing'
            else 'pending'
        end as data_status,
        case
            when suspended_since is not null and quarter_end > suspended_since
                then coalesce(suspension_reason, feed_label || ' suspended since ' || {{ date_text('suspended_since') }})
            when effective_calendar_start is null
                then feed_label || ' has never delivered'
            when quarter_end < effective_calendar_start
                then feed_label || ' calendar starts ' || {{ date_text('effective_calendar_start') }}
            when delivered_periods = expected_periods then null
            when overdue_periods > 0 then overdue_note
            else absent_note
        end as status_note

    from feed_quarters

)

select * from final
