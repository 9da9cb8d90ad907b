with

comparison as (

    select * from {{ ref('fct_police_uk_comparison') }}

),

partnerships as (

    select * from {{ ref('dim_partnership') }}

),

final as (

    select
        comparison.fiscal_quarter,
        comparison.quarter_start,
        comparison.partnership_code,
        comparison.partnership_name,
        comparison.force,
        comparison.is_complete,
        comparison.records,
        comparison.population,
        comparison.population_year,
        comparison.rate_per_1000,
        comparison.rate_lower_95,
        comparison.rate_upper_95,
        comparison.rank_in_force,
        comparison.partnerships_in_force,
        comparison.force_rate_per_1000,
        comparison.compared_with_force

    from comparison

    inner join partnerships
        on comparison.partnership_code = partnerships.partnership_code

    where partnerships.is_configured

)

select * from final
