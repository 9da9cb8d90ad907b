with

feed_status as (

    select * from {{ ref('fct_feed_status') }}

),

feeds as (

    select * from {{ ref('dim_feed') }}

),

final as (

    select
        feed_status.la_code,
        feed_status.feed_key,
        feed_status.feed,
        feed_status.partner,
        feed_status.cadence,
        feed_status.as_of_date,
        feed_status.state,
        feed_status.last_period,
        feed_status.last_received_at,
        feed_status.next_period,
        feed_status.next_due_date,
        feed_status.is_due_soon,
        feed_status.overdue_count,
        feed_status.overdue_periods,
        feed_status.first_overdue_due_date,
        feed_status.suspended_since,
        feed_status.suspension_reason,
        feed_status.last_quarantined_file,
        feeds.delivery_count,
        feeds.first_delivered_period_start,
        feeds.last_delivered_period_start

    from feed_status

    left join feeds
        on feed_status.feed_key = feeds.feed_key

)

select * from final
