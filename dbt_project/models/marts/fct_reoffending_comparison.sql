{#- How the partnership's reoffending compares, table by table: every local authority of the
    MoJ table ranked by the difference between actual and predicted reoffending (lower is
    better), with its quartile, among all authorities and among the partnership's group of
    similar areas (var `similar_areas`, from csp.toml [moj] similar_areas; none configured, no
    similar-area ranks). Suppressed rows
    (fewer than 30 offenders) are listed but not ranked.

    Each ranked authority's difference carries 95% limits: the Wilson score limits of its actual
    rate (reoffenders out of offenders, the reoffenders recovered from the published rate),
    expressed as a difference from the predicted rate, which the MoJ treats as fixed. The
    difference is significantly higher or lower than a group's average only when that average
    lies outside them (docs/indicators.md, "Confidence intervals and significance"). -#}
with

rates as (

    select * from {{ ref('stg_moj__reoffending_rates') }}

),

grouped as (

    select
        {{ quarter_start('period_start') }} as quarter_start,
        la_code,
        local_authority as la_name,
        offenders,
        actual_rate,
        predicted_rate,
        difference_pct,
        -- A partnership of several districts: each of its districts' rows is the partnership's.
        la_code in {{ partnership_area_codes() }} as is_partnership,
        la_code in {{ partnership_area_codes() }}
        {%- for area in var('similar_areas', []) %}
            or la_code = '{{ area }}'
        {%- endfor %} as is_in_similar_group,
        difference_pct is not null as is_ranked,
        round(actual_rate * offenders / 100.0) as reoffenders

    from rates

),

limited as (

    select
        *,
        (100.0 * {{ wilson_lower('reoffenders', 'offenders') }} - predicted_rate)
            / nullif(predicted_rate, 0) * 100 as difference_lower_95,
        (100.0 * {{ wilson_upper('reoffenders', 'offenders') }} - predicted_rate)
            / nullif(predicted_rate, 0) * 100 as difference_upper_95

    from grouped

),

ranked as (

    select
        *,
        case when is_ranked then rank() over (
            partition by quarter_start, is_ranked order by difference_pct) end
            as rank_all,
        case when is_ranked then count(*) over (partition by quarter_start, is_ranked) end
            as authorities_all,
        case when is_ranked then avg(difference_pct) over (
            partition by quarter_start, is_ranked) end as average_all,
        case when is_ranked then ntile(4) over (
            partition by quarter_start, is_ranked order by difference_pct) end
            as quartile_all,
        {%- if var('similar_areas', []) %}
        case when is_ranked and is_in_similar_group then rank() over (
            partition by quarter_start, is_ranked and is_in_similar_group
            order by difference_pct) end as rank_similar,
        case when is_ranked and is_in_similar_group then count(*) over (
            partition by quarter_start, is_ranked and is_in_similar_group) end
            as authorities_similar,
        case when is_ranked and is_in_similar_group then avg(difference_pct) over (
            partition by quarter_start, is_ranked and is_in_similar_group) end
            as average_similar,
        case when is_ranked and is_in_similar_group then ntile(4) over (
            partition by quarter_start, is_ranked and is_in_similar_group
            order by difference_pct) end as quartile_similar
        {%- else %}
        -- No similar areas configured: no group to rank in, rather than first of one.
        cast(null as integer) as rank_similar,
        cast(null as integer) as authorities_similar,
        cast(null as double precision) as average_similar,
        cast(null as integer) as quartile_similar
        {%- endif %}

    from limited

),

final as (

    select
        ranked.quarter_start,
        quarters.fiscal_quarter,
        ranked.la_code,
        ranked.la_name,
        ranked.is_partnership,
        ranked.is_in_similar_group,
        ranked.offenders,
        ranked.actual_rate,
        ranked.predicted_rate,
        ranked.difference_pct,
        case when ranked.is_ranked then ranked.difference_lower_95 end as difference_lower_95,
        case when ranked.is_ranked then ranked.difference_upper_95 end as difference_upper_95,
        ranked.rank_all,
        ranked.authorities_all,
        ranked.quartile_all,
        ranked.average_all,
        {{ compared_with_benchmark(
            'ranked.difference_lower_95', 'ranked.difference_upper_95', 'ranked.average_all'
        ) }} as compared_with_all,
        ranked.rank_similar,
        ranked.authorities_similar,
        ranked.quartile_similar,
        ranked.average_similar,
        {{ compared_with_benchmark(
            'ranked.difference_lower_95', 'ranked.difference_upper_95', 'ranked.average_similar'
        ) }} as compared_with_similar

    from ranked
    left join {{ ref('dim_quarter') }} as quarters
        on ranked.quarter_start = quarters.quarter_start

)

select * from final
