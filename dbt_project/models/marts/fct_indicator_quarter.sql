{#- The published indicator table: one row per (indicator, quarter) for the partnership.
    Rules are those of docs/indicators.md; a figure is published only when its quarter's
    data status is ok, and a year to date only when every quarter in its span is ok.
    data.police.uk counts also carry a rate per 1,000 residents with Byar's 95% limits.
    Every percent and count figure carries its 95% and 99.8% limits and, where the indicator
    has a polarity, whether it is significantly better or worse than its target and than a
    year earlier (docs/indicators.md, "Confidence intervals and significance"). -#}
with

indicator_quarters as (

    select * from {{ ref('int_indicator_quarters_aggregated') }}

),

populations as (

    select * from {{ ref('int_partnership_quarter_populations_selected') }}

),

year_to_date as (

    select
        *,
        sum(case when is_published then 1 else 0 end) over ytd_window as published_quarters,
        sum(value) over ytd_window as ytd_value_sum,
        sum(numerator) over ytd_window as ytd_numerator,
        sum(denominator) over ytd_window as ytd_denominator

    from indicator_quarters
    window ytd_window as (
        partition by indicator_code, fy_start_year
        order by quarter_start
        rows between unbounded preceding and current row
    )

),

ytd_computed as (

    select
        *,
        case
            when aggregation = 'latest' then value
            when published_quarters < quarter_number then null
            when aggregation = 'sum' then ytd_value_sum
            when aggregation = 'ratio' then 100.0 * ytd_numerator / nullif(ytd_denominator, 0)
        end as ytd_raw,
        -- The parts the year to date's interval is computed from: a `latest` year to date
        -- is the quarter's own figure, so its parts are the quarter's.
        case when aggregation = 'latest' then numerator else ytd_numerator end
            as ytd_interval_numerator,
        case when aggregation = 'latest' then denominator else ytd_denominator end
            as ytd_interval_denominator

    from year_to_date

),

rounded as (

    -- Percentages are published to one decimal place; RAG and direction compare the
    -- published figures, so a reader can check them by eye.
    select
        la_code,
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
        status_note,
        numerator,
        denominator,
        {% for column in ['value', 'ytd_raw', 'provisional_value'] %}
        case
            when unit = 'count' then {{ column }}
            else {{ round_1dp(column) }}
        end as {{ 'ytd_value' if column == 'ytd_raw' else column }},
        {% endfor %}
        -- Limits of the unrounded figure, percentages' rounded as the figure is published.
        {% for level, z in [('95', z_95()), ('99_8', z_99_8())] %}
        {% for bound in ['lower', 'upper'] %}
        {{ indicator_limit(bound, 'unit', 'value', 'numerator', 'denominator', z) }}
            as {{ bound }}_{{ level }},
        {% endfor %}
        {% endfor %}
        {% for bound in ['lower', 'upper'] %}
        {{ indicator_limit(bound, 'unit', 'ytd_raw', 'ytd_interval_numerator',
            'ytd_interval_denominator', z_95()) }} as ytd_{{ bound }}_95{{ ',' if not loop.last }}
        {% endfor %}

    from ytd_computed

),

compared as (

    select
        this_year.*,
        last_year.value as prev_year_value,
        last_year.ytd_value as ytd_prev_value,
        last_year.lower_95 as prev_year_lower_95,
        last_year.upper_95 as prev_year_upper_95

    from rounded as this_year
    left join rounded as last_year
        on this_year.indicator_code = last_year.indicator_code
        and this_year.la_code = last_year.la_code
        and this_year.fy_start_year - 1 = last_year.fy_start_year
        and this_year.quarter_number = last_year.quarter_number

),

populated as (

    -- Rates only for data.police.uk counts, whose records are placed by LSOA as the
    -- population estimates are.
    select
        compared.*,
        case when compared.feed = 'police_uk' then populations.population end as population

    from compared
    left join populations
        on compared.la_code = populations.partnership_code
        and compared.quarter_start = populations.quarter_start

),

final as (

    select
        la_code,
        indicator_code,
        indicator_code || ' ' || fiscal_quarter as indicator_quarter_key,
        fiscal_quarter,
        financial_year,
        quarter_number,
        quarter_start,
        quarter_end,
        unit,
        data_status,
        value,
        numerator,
        denominator,
        ytd_value,
        ytd_prev_value,
        prev_year_value,
        target,
        case
            when target is null or ytd_value is null then null
            when polarity = 'lower_is_better' and ytd_value <= target then 'Green'
            when polarity <> 'lower_is_better' and ytd_value >= target then 'Green'
            -- Missed by no more than 5% of the target's size; compared in numeric so a
            -- figure exactly on the boundary is not pushed to Red by binary rounding.
            when cast(abs(ytd_value - target) as numeric(38, 6))
                <= cast(0.05 * abs(target) as numeric(38, 6)) then 'Amber'
            else 'Red'
        end as rag_status,
        case
            when polarity = 'none' or value is null or prev_year_value is null then null
            when value = prev_year_value then 'no change'
            when (polarity = 'higher_is_better') = (value > prev_year_value) then 'improving'
            else 'worsening'
        end as direction,
        provisional_value,
        status_note,
        population,
        case when population > 0 then value / population * 1000 end as rate_per_1000,
        case when population > 0 then {{ byars_lower('value') }} / population * 1000 end
            as rate_lower_95,
        case when population > 0 then {{ byars_upper('value') }} / population * 1000 end
            as rate_upper_95,
        lower_95,
        upper_95,
        lower_99_8,
        upper_99_8,
        ytd_lower_95,
        ytd_upper_95,
        -- The target is a year-to-date value (docs/indicators.md, "Targets and RAG"), so it
        -- is set against the year to date's interval: significant when outside it.
        case
            when polarity not in ('higher_is_better', 'lower_is_better') then null
            when target is null or ytd_lower_95 is null or ytd_upper_95 is null then null
            when target between ytd_lower_95 and ytd_upper_95 then 'similar'
            when (polarity = 'higher_is_better') = (ytd_lower_95 > target) then 'better'
            else 'worse'
        end as significance_vs_target,
        -- Against the same quarter a year earlier: significant only when the two 95%
        -- intervals do not overlap, the conservative test of docs/indicators.md.
        case
            when polarity not in ('higher_is_better', 'lower_is_better') then null
            when lower_95 is null or prev_year_lower_95 is null then null
            when lower_95 <= prev_year_upper_95 and upper_95 >= prev_year_lower_95 then 'similar'
            when (polarity = 'higher_is_better') = (lower_95 > prev_year_upper_95) then 'better'
            else 'worse'
        end as significance_vs_previous_year,
        case
            when coalesce(lower_95, ytd_lower_95) is null then null
            when unit = 'percent' then 'Wilson score 95%'
            when unit = 'count' then 'Byar''s 95%'
        end as significance_method

    from populated

)

select * from final
