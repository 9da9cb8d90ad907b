with

source as (

    select * from {{ source('raw', 'feed_calendar') }}

),

renamed as (

    select
        feed,
        partner,
        cadence,
        cast(due_days_after_period_end as integer) as due_days_after_period_end,
        -- 0 (days after the period end only) for a calendar written before months existed.
        coalesce(cast(due_months_after_period_end as integer), 0) as due_months_after_period_end,
        cast(calendar_start as date) as calendar_start,
        cast(suspended_since as date) as suspended_since,
        suspension_reason,
        -- A feed sent by several partners (partner_returns) may be configured per partner;
        -- a feed with one calendar row matches every delivery of that feed.
        count(*) over (partition by feed) as feed_calendar_rows

    from source

),

final as (

    select
        case
            when feed_calendar_rows = 1 or partner is null then feed
            else feed || ':' || partner
        end as feed_key,
        feed,
        partner,
        feed_calendar_rows > 1 and partner is not null as is_per_partner,
        cadence,
        due_months_after_period_end,
        due_days_after_period_end,
        calendar_start,
        suspended_since,
        suspension_reason

    from renamed

)

select * from final
