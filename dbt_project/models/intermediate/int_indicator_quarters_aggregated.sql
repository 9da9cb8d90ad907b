{#- One row per (indicator, reported quarter) for the partnership: the feed's data status
    and the quarter's figure, before publication rules, YTD and RAG. An indicator whose feed
    has no calendar row or never delivered is not_expected. The partnership's events are those
    of its own code and of every district it spans (macro partnership_area_codes). -#}
with

indicators as (

    select * from {{ ref('indicators') }}

),

quarters as (

    select * from {{ ref('int_reporting_quarters_spanned') }}

),

feed_status as (

    -- police.uk figures need every month from every force the partnership's records lie in,
    -- not one file a month from any force: that feed's status is judged for the partnership.
    select feed_key, quarter_start, data_status, status_note
    from {{ ref('int_feed_quarters_statused') }}
    where feed <> 'police_uk'

    union all

    select feed_key, quarter_start, data_status, status_note
    from {{ ref('int_police_uk_quarters_statused') }}

),

calendars as (

    select * from {{ ref('stg_csp__feed_calendar') }}

),

events as (

    select * from {{ ref('int_indicator_events_unioned') }}
    where la_code in {{ partnership_area_codes() }}

),

indicator_feeds as (

    -- An owner-specific calendar row (partner_returns per partner) beats a feed-wide one.
    select
        indicators.code as indicator_code,
        calendars.feed_key

    from indicators
    inner join calendars
        on indicators.feed = calendars.feed
        and (not calendars.is_per_partner or lower(calendars.partner) = lower(indicators.owner))

),

quarter_events as (

    select
        indicator_code,
        quarter_start,
        count(*) as event_count,
        sum(numerator) as numerator,
        sum(denominator) as denominator,
        sum(value) as value_sum,
        -- Several districts' rates (MoJ), each weighted by its cohort; null when any of them
        -- is suppressed, since the others alone would misstate the partnership.
        case when count(value) = count(*) then
            sum(weight * numerator) / nullif(sum(weight), 0) end as weighted_numerator,
        case when count(value) = count(*) then
            sum(weight * denominator) / nullif(sum(weight), 0) end as weighted_denominator

    from events
    group by indicator_code, quarter_start

),

grid as (

    select
        indicators.code as indicator_code,
        indicators.feed,
        indicators.unit,
        indicators.polarity,
        indicators.aggregation,
        indicators.target,
        quarters.quarter_start,
        quarters.quarter_end,
        quarters.fiscal_quarter,
        quarters.financial_year,
        quarters.fy_start_year,
        quarters.quarter_number,
        indicator_feeds.feed_key

    from indicators
    cross join quarters
    left join indicator_feeds
        on indicators.code = indicator_feeds.indicator_code

),

computed as (

    select
        grid.*,
        coalesce(feed_status.data_status, 'not_expected') as data_status,
        coalesce(feed_status.status_note, grid.feed || ' has never delivered') as status_note,
        coalesce(quarter_events.event_count, 0) as event_count,
        case
            when grid.unit = 'percent' then quarter_events.numerator
            when grid.unit = 'percent_diff' and quarter_events.event_count > 1
                then {{ round_1dp('quarter_events.weighted_numerator') }}
            when grid.unit = 'percent_diff' then quarter_events.numerator
        end as numerator,
        case
            when grid.unit = 'percent' then quarter_events.denominator
            when grid.unit = 'percent_diff' and quarter_events.event_count > 1
                then {{ round_1dp('quarter_events.weighted_denominator') }}
            when grid.unit = 'percent_diff' then quarter_events.denominator
        end as denominator,
        case
            -- A quarter with no events counts zero.
            when grid.unit = 'count' then coalesce(quarter_events.value_sum, 0)
            when grid.unit = 'percent' then 100.0 * quarter_events.numerator / nullif(quarter_events.denominator, 0)
            -- A partnership of several districts: the difference of its combined rates
            -- (reoffenders over predicted reoffenders), as MoJ computes a district's.
            when grid.unit = 'percent_diff' and quarter_events.event_count > 1
                then {{ round_1dp('100.0 * (quarter_events.weighted_numerator
                    / nullif(quarter_events.weighted_denominator, 0) - 1)') }}
            -- One table row per district and period: that row's published value.
            else quarter_events.value_sum
        end as computed_value

    from grid
    left join feed_status
        on grid.feed_key = feed_status.feed_key
        and grid.quarter_start = feed_status.quarter_start
    left join quarter_events
        on grid.indicator_code = quarter_events.indicator_code
        and grid.quarter_start = quarter_events.quarter_start

),

final as (

    select
        {{ partnership_la_code() }} as la_code,
        indicator_code,
        feed,
        unit,
        polarity,
        aggregation,
        target,
        fiscal_quarter,
        financial_year,
        fy_start_year,
        quarter_number,
        quarter_start,
        quarter_end,
        data_status,
        case when data_status <> 'ok' then status_note end as status_note,
        data_status = 'ok' as is_published,
        case when data_status = 'ok' then computed_value end as value,
        case when data_status = 'ok' then numerator end as numerator,
        case when data_status = 'ok' then denominator end as denominator,
        case when data_status <> 'ok' and event_count > 0 then computed_value end as provisional_value

    from computed

)

select * from final
