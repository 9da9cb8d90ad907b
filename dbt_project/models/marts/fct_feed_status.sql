{#- Is each partner feed on time? One row per feed calendar row, as core/feed_status.py judged
    it on as_of (the rule's one home; csp status and csp monitor give the same answers): the
    last period delivered, the next period due, the periods overdue and a state. -#}
with

calendars as (

    select * from {{ ref('int_feed_calendars_started') }}

),

statuses as (

    select * from {{ ref('stg_csp__feed_statuses') }}

),

overdue_periods as (

    select * from {{ ref('stg_csp__feed_periods') }}
    where is_overdue

),

overdue as (

    select
        feed_key,
        {{ dbt.listagg('period_label', "', '", 'order by period_start') }} as overdue_periods,
        min(due_date) as first_overdue_due_date

    from overdue_periods
    group by feed_key

),

final as (

    select
        {{ partnership_la_code() }} as la_code,
        calendars.feed_key,
        calendars.feed,
        calendars.partner,
        calendars.cadence,
        statuses.as_of_date,
        statuses.state,
        statuses.last_period,
        statuses.last_received_at,
        statuses.next_period,
        statuses.next_due_date,
        statuses.overdue_count,
        overdue.overdue_periods,
        overdue.first_overdue_due_date,
        calendars.suspended_since,
        calendars.suspension_reason,
        statuses.last_quarantined_file,
        statuses.is_due_soon

    from calendars
    left join statuses
        on calendars.feed_key = statuses.feed_key
    left join overdue
        on calendars.feed_key = overdue.feed_key

)

select * from final
