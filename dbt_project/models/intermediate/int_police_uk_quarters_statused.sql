{#- Data status of the police_uk feed for the partnership, in each reported quarter. One
    force's file a month is not enough: a partnership's records may lie in several forces'
    files (a border, British Transport Police), so a quarter is ok only when every month of it
    has a current file from every force the partnership's records lie in: its own force (the
    district lookup's police force area) and every force whose current files hold records
    located in it. Otherwise, as for any feed (int_feed_quarters_statused): missing once a
    force-month is past its due date, pending before; the note names the force-months. Each
    month's due date and whether it is past due are the feed's own, as core/feed_status.py
    judged them (stg_csp__feed_periods). A suspended or not yet started feed keeps the feed's
    own status. -#}
with

feed_status as (

    select * from {{ ref('int_feed_quarters_statused') }}
    where feed = 'police_uk'

),

months as (

    -- The feed's months from its calendar start through the quarter holding as_of.
    select * from {{ ref('stg_csp__feed_periods') }}
    where feed = 'police_uk'
        and is_through_as_of_quarter

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

force_months as (

    select
        months.feed_key,
        partnership_forces.force,
        months.quarter_start,
        months.period_start,
        months.period_label,
        months.due_date,
        months.is_past_due

    from months
    inner join quarters
        on months.quarter_start = quarters.quarter_start
    cross join partnership_forces

),

force_months_judged as (

    select
        force_months.feed_key,
        force_months.force,
        force_months.quarter_start,
        force_months.period_start,
        current_files.delivery_id is not null as is_delivered,
        {{ feed_absence("force_months.force || ' ' || force_months.period_label",
                        'current_files.delivery_id is not null', 'force_months.due_date',
                        'force_months.is_past_due') }}

    from force_months
    left join current_files
        on force_months.force = current_files.partner
        and force_months.period_start = current_files.period_start

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
