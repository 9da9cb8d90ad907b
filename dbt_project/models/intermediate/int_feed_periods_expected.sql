{#- Every period each feed is expected to deliver, from its calendar start through the
    whole quarter holding as_of, with its due date and whether it has arrived. -#}
with

calendars as (

    select * from {{ ref('int_feed_calendars_started') }}

),

deliveries as (

    select * from {{ ref('int_feed_deliveries_matched') }}
    where status <> 'rejected'

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

month_offsets as (

    select 0 as month_offset
    union all select 1
    union all select 2

),

periods as (

    select
        calendars.feed_key,
        calendars.feed,
        calendars.feed_label,
        calendars.partner,
        calendars.cadence,
        calendars.due_months_after_period_end,
        calendars.due_days_after_period_end,
        calendars.effective_calendar_start,
        quarters.quarter_start,
        quarters.fiscal_quarter,
        {{ feed_period_bounds('calendars.cadence', 'quarters.quarter_start', 'quarters.quarter_end',
                                'month_offsets.month_offset') }}

    from calendars
    inner join quarters
        on quarters.quarter_start >= {{ quarter_start('calendars.effective_calendar_start') }}
        and quarters.quarter_start <= {{ quarter_start(as_of_date()) }}
    inner join month_offsets
        on calendars.cadence = 'monthly' or month_offsets.month_offset = 0

),

delivered as (

    select
        feed_key,
        period_start,
        max(delivery_id) as latest_delivery_id

    from deliveries
    group by feed_key, period_start

),

final as (

    select
        periods.feed_key,
        periods.feed,
        periods.feed_label,
        periods.partner,
        periods.cadence,
        case
            when periods.cadence = 'monthly' then {{ month_label('periods.period_start') }}
            else periods.fiscal_quarter
        end as period_label,
        periods.period_start,
        periods.period_end,
        periods.quarter_start,
        {{ feed_due_date('periods.period_end', 'periods.due_months_after_period_end',
                         'periods.due_days_after_period_end') }} as due_date,
        delivered.latest_delivery_id is not null as is_delivered,
        delivered.latest_delivery_id

    from periods
    left join delivered
        on periods.feed_key = delivered.feed_key
        and periods.period_start = delivered.period_start
    where periods.period_start >= periods.effective_calendar_start

)

select * from final
