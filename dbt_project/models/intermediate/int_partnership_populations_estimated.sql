{#- Each partnership's population by ONS mid-year estimate: the sum over the LSOAs the LSOA
    lookup places in its districts. An LSOA the lookup does not place counts for none. -#}
with

population as (

    select * from {{ ref('stg_ons__lsoa_population') }}

),

lookup as (

    select * from {{ ref('stg_csp__lsoa_lookup') }}

),

districts as (

    select * from {{ ref('int_districts_partnered') }}

),

final as (

    select
        districts.partnership_code,
        population.estimate_year,
        sum(population.population) as population,
        count(distinct population.lsoa_code) as lsoas_counted

    from population
    inner join lookup on population.lsoa_code = lookup.lsoa_code
    inner join districts on lookup.la_code = districts.la_code
    group by districts.partnership_code, population.estimate_year

)

select * from final
