{#- Data status of the police_uk feed for the partnership, in each reported quarter. One
    force's file a month is not enough: a partnership's records may lie in several forces'
    files (a border, British Transport Police), so a quarter is ok only when every month of it
    has a current file from every force the partnership's records lie in: its own force (the
    district lookup's police force area) and every force whose current files hold records
    located in it. Otherwise, as for any feed (int_feed_quarters_statused): missing once a
    force-month is past its due date, pending before; the note names the force-months. A
    suspended or not yet started feed keeps the feed's own status. -#}
with

calendars as (

    select * from {{ ref('int_feed_calendars_started') }}
    where feed = 'police_uk'

),

feed_status as (

    select * from {{ ref('int_feed_quarters_statused') }}
    where feed = 'police_uk'

),

quarters as (

    select * from {{ ref('int_reporting_quarters_spanned') }}

),

current_files as (

    select * from {{ ref('stg_csp__deliveries') }}
    where feed = 'police_uk' and is_current

),

partnership_forces as (

    select force
    from {{ ref('int_districts_partnered') }}
    where la_code in {{ partnership_area_codes() }}
        and force is not null

    union

    select force
    from {{ ref('int_police_uk_records_located') }}
    where la_code in {{ partnership_area_codes() }}

),

month_offsets as (

    select 0 as month_offset
    union all select 1
    union all select 2

),

force_months as (

    select
        calendars.feed_key,
        partnership_forces.force,
        quarters.quarter_start,
        {{ feed_period_bounds("'monthly'", 'quarters.quarter_start', 'quarters.quarter_end',
                                'month_offsets.month_offset') }},
        calendars.due_months_after_period_end,
        calendars.due_days_after_period_end,
        calendars.effective_calendar_start

    from calendars
    cross join partnership_forces
    cross join quarters
    cross join month_offsets

),

force_months_due as (

    select
        *,
        {{ feed_due_date('period_end', 'due_months_after_period_end',
                         'due_days_after_period_end') }} as due_date

    from force_months
    -- Months before the feed's calendar starts are not expected (int_feed_periods_expected).
    where period_start >= effective_calendar_start

),

force_months_judged as (

    select
        force_months_due.feed_key,
        force_months_due.force,
        force_months_due.quarter_start,
        force_months_due.period_start,
        current_files.delivery_id is not null as is_delivered,
        current_files.delivery_id is null
            and {{ as_of_date() }} > force_months_due.due_date as is_overdue,
        force_months_due.force || ' ' || {{ month_label('force_months_due.period_start') }}
            || case
                when {{ as_of_date() }} > force_months_due.due_date then ' not received'
                else ' not yet received'
            end
            || ' (due ' || {{ date_text('force_months_due.due_date') }} || ')' as absence_note

    from force_months_due
    left join current_files
        on force_months_due.force = current_files.partner
        and force_months_due.period_start = current_files.period_start

),

quarter_coverage as (

    select
        feed_key,
        quarter_start,
        count(*) as expected_force_months,
        sum(case when is_delivered then 1 else 0 end) as delivered_force_months,
        sum(case when is_overdue then 1 else 0 end) as overdue_force_months,
        {{ dbt.listagg("case when is_overdue then absence_note end", "'; '",
                       "order by force, period_start") }} as overdue_note,
        {{ dbt.listagg("case when not is_delivered then absence_note end", "'; '",
                       "order by force, period_start") }} as absent_note

    from force_months_judged
    group by feed_key, quarter_start

),

final as (

    select
        feed_status.feed_key,
        feed_status.quarter_start,
        feed_status.fiscal_quarter,
        coalesce(quarter_coverage.expected_force_months, 0) as expected_force_months,
        coalesce(quarter_coverage.delivered_force_months, 0) as delivered_force_months,
        case
            when feed_status.data_status in ('suspended', 'not_expected')
                then feed_status.data_status
            -- No force is known to hold the partnership's records: nothing to expect of it.
            when (select count(*) from partnership_forces) = 0 then 'not_expected'
            when quarter_coverage.delivered_force_months = quarter_coverage.expected_force_months
                then 'ok'
            when quarter_coverage.overdue_force_months > 0 then 'missing'
            else 'pending'
        end as data_status,
        case
            when feed_status.data_status in ('suspended', 'not_expected')
                then feed_status.status_note
            when (select count(*) from partnership_forces) = 0
                then 'police_uk: no force is known to hold records of the partnership'
            when quarter_coverage.delivered_force_months = quarter_coverage.expected_force_months
                then null
            when quarter_coverage.overdue_force_months > 0 then quarter_coverage.overdue_note
            else quarter_coverage.absent_note
        end as status_note

    from feed_status
    left join quarter_coverage
        on feed_status.feed_key = quarter_coverage.feed_key
        and feed_status.quarter_start = quarter_coverage.quarter_start

)

select * from final
