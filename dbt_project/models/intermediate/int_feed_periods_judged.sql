{#- Every period each feed's calendar expects, judged on as_of (orchestration/feed_status.py).
    Periods run from the effective calendar start through one period beyond the latest of
    the period holding as_of, the last period delivered and the calendar start, so the next
    period due (the first neither delivered nor overdue) is always among them, even when it
    lies after the quarter holding as_of. A period is delivered when a non-rejected delivery
    carries its label; overdue when it is not and as_of is later than its due date. Periods
    ending after suspended_since are never expected. -#}
with

calendars as (

    select * from {{ ref('int_feed_calendars_started') }}
    where effective_calendar_start is not null

),

deliveries as (

    select * from {{ ref('int_feed_deliveries_matched') }}
    where status <> 'rejected'
        and period_start is not null

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

month_offsets as (

    select 0 as month_offset
    union all select 1
    union all select 2

),

calendars_anchored as (

    select
        *,
        greatest(
            {{ as_of_date() }},
            effective_calendar_start,
            coalesce(last_delivered_period_start, effective_calendar_start)
        ) as span_anchor

    from calendars

),

calendars_spanned as (

    -- The last period generated is the one after the anchor's period: it is after every
    -- delivered period and ends after as_of, so it is never delivered nor overdue.
    select
        *,
        case
            when cadence = 'monthly' then {{ add_months(month_start('span_anchor'), 1) }}
            else {{ add_months(quarter_start('span_anchor'), 3) }}
        end as last_period_start

    from calendars_anchored

),

periods as (

    select
        calendars_spanned.feed_key,
        calendars_spanned.feed,
        calendars_spanned.partner,
        calendars_spanned.cadence,
        calendars_spanned.due_months_after_period_end,
        calendars_spanned.due_days_after_period_end,
        calendars_spanned.effective_calendar_start,
        calendars_spanned.last_period_start,
        calendars_spanned.suspended_since,
        quarters.fiscal_quarter,
        {{ feed_period_bounds('calendars_spanned.cadence', 'quarters.quarter_start', 'quarters.quarter_end',
                                'month_offsets.month_offset') }}

    from calendars_spanned
    inner join quarters
        on quarters.quarter_start >= {{ quarter_start('calendars_spanned.effective_calendar_start') }}
        and quarters.quarter_start <= calendars_spanned.last_period_start
    inner join month_offsets
        on calendars_spanned.cadence = 'monthly' or month_offsets.month_offset = 0

),

periods_expected as (

    select
        feed_key,
        feed,
        partner,
        cadence,
        case
            when cadence = 'monthly' then {{ month_label('period_start') }}
            else fiscal_quarter
        end as period_label,
        period_start,
        period_end,
        {{ feed_due_date('period_end', 'due_months_after_period_end',
                         'due_days_after_period_end') }} as due_date

    from periods
    where period_start >= effective_calendar_start
        and period_start <= last_period_start
        and (suspended_since is null or period_end <= suspended_since)

),

delivered as (

    select
        feed_key,
        period_label,
        max(delivery_id) as latest_delivery_id

    from deliveries
    group by feed_key, period_label

),

periods_delivered as (

    select
        periods_expected.*,
        delivered.latest_delivery_id is not null as is_delivered,
        delivered.latest_delivery_id,
        delivered.latest_delivery_id is null
            and {{ as_of_date() }} > periods_expected.due_date as is_overdue

    from periods_expected
    left join delivered
        on periods_expected.feed_key = delivered.feed_key
        and periods_expected.period_label = delivered.period_label

),

periods_judged as (

    -- Due dates rise with the periods, so the first period neither delivered nor overdue is
    -- the next one due, and no later period can be overdue.
    select
        *,
        min(case when not is_delivered and not is_overdue then period_start end)
            over (partition by feed_key) as next_due_period_start

    from periods_delivered

),

final as (

    select
        feed_key,
        feed,
        partner,
        cadence,
        period_label,
        period_start,
        period_end,
        due_date,
        is_delivered,
        latest_delivery_id,
        is_overdue,
        coalesce(period_start = next_due_period_start, false) as is_next_due

    from periods_judged

)

select * from final
