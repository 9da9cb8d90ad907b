{#- Each delivery with the feed calendar row it answers to. A feed configured per partner
    (partner_returns) matches on partner too. -#}
with

deliveries as (

    select * from {{ ref('stg_csp__deliveries') }}

),

calendar as (

    select * from {{ ref('stg_csp__feed_calendar') }}

),

final as (

    select
        calendar.feed_key,
        deliveries.*

    from deliveries
    left join calendar
        on deliveries.feed = calendar.feed
        and (not calendar.is_per_partner or lower(deliveries.partner) = lower(calendar.partner))

)

select * from final
