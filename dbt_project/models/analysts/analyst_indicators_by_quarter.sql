with

indicator_quarters as (

    select * from {{ ref('fct_indicator_quarter') }}

),

indicators as (

    select * from {{ ref('dim_indicator') }}

),

final as (

    select
        indicator_quarters.la_code,
        indicator_quarters.fiscal_quarter,
        indicator_quarters.financial_year,
        indicator_quarters.quarter_number,
        indicator_quarters.quarter_start,
        indicator_quarters.quarter_end,
        indicators.priority,
        indicator_quarters.indicator_code,
        indicators.indicator_name,
        indicators.definition,
        indicators.feed,
        indicator_quarters.unit,
        case indicator_quarters.unit
            when 'count' then 'number'
            when 'percent' then 'per cent'
            when 'percent_diff' then 'per cent difference from the predicted rate'
        end as unit_label,
        case indicators.polarity
            when 'higher_is_better' then 'higher'
            when 'lower_is_better' then 'lower'
        end as better_when,
        indicator_quarters.data_status,
        indicator_quarters.status_note,
        indicator_quarters.value,
        indicator_quarters.numerator,
        indicator_quarters.denominator,
        indicator_quarters.lower_95 as value_lower_95,
        indicator_quarters.upper_95 as value_upper_95,
        indicator_quarters.ytd_value,
        indicator_quarters.ytd_lower_95,
        indicator_quarters.ytd_upper_95,
        indicator_quarters.ytd_prev_value,
        indicator_quarters.prev_year_value,
        indicator_quarters.target,
        indicator_quarters.rag_status,
        indicator_quarters.direction,
        indicator_quarters.significance_vs_target,
        indicator_quarters.significance_vs_previous_year,
        indicator_quarters.significance_method,
        indicator_quarters.population,
        indicator_quarters.rate_per_1000,
        indicator_quarters.rate_lower_95,
        indicator_quarters.rate_upper_95

    from indicator_quarters

    inner join indicators
        on indicator_quarters.indicator_code = indicators.indicator_code

)

select * from final
