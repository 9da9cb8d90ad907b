{#- How each partnership's recorded crime compares with its force's: per quarter, the
    PC_TOTAL records (every crime type but anti-social behaviour) located in the partnership,
    its rate per 1,000 residents with Byar's 95% limits, its rank among the force's
    partnerships (1 = lowest rate) and whether its rate is significantly above or below the
    force's. The force's figures are those of its partnerships with a population estimate, so
    its rate and theirs count the same records over the same people. -#}
with

records as (

    select * from {{ ref('int_police_uk_records_located') }}
    where partnership_code is not null
        and not is_anti_social_behaviour

),

districts as (

    select * from {{ ref('int_districts_partnered') }}
    where force is not null

),

current_files as (

    select * from {{ ref('stg_csp__deliveries') }}
    where feed = 'police_uk' and is_current

),

populations as (

    select * from {{ ref('int_partnership_quarter_populations_selected') }}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

partnerships as (

    select
        partnership_code,
        max(partnership_name) as partnership_name,
        max(force) as force

    from districts
    group by partnership_code

),

force_quarters as (

    -- The quarters a force's files cover, and whether all three months have arrived.
    select
        partner as force,
        {{ quarter_start('period_start') }} as quarter_start,
        count(distinct period_start) as months_received

    from current_files
    group by partner, {{ quarter_start('period_start') }}

),

quarter_records as (

    select
        partnership_code,
        {{ quarter_start('month') }} as quarter_start,
        count(*) as records

    from records
    group by partnership_code, {{ quarter_start('month') }}

),

rated as (

    select
        partnerships.partnership_code,
        partnerships.partnership_name,
        partnerships.force,
        force_quarters.quarter_start,
        force_quarters.months_received = 3 as is_complete,
        coalesce(quarter_records.records, 0) as records,
        populations.population,
        populations.estimate_year as population_year,
        coalesce(quarter_records.records, 0) / nullif({{ as_double('populations.population') }}, 0)
            * 1000 as rate_per_1000,
        {{ byars_lower('coalesce(quarter_records.records, 0)') }}
            / nullif(populations.population, 0) * 1000 as rate_lower_95,
        {{ byars_upper('coalesce(quarter_records.records, 0)') }}
            / nullif(populations.population, 0) * 1000 as rate_upper_95

    from partnerships
    inner join force_quarters on partnerships.force = force_quarters.force
    left join quarter_records
        on partnerships.partnership_code = quarter_records.partnership_code
        and force_quarters.quarter_start = quarter_records.quarter_start
    left join populations
        on partnerships.partnership_code = populations.partnership_code
        and force_quarters.quarter_start = populations.quarter_start

),

force_totals as (

    select
        force,
        quarter_start,
        count(*) as partnerships_in_force,
        sum(records) as force_records,
        sum(population) as force_population,
        sum(records) / nullif({{ as_double('sum(population)') }}, 0) * 1000
            as force_rate_per_1000

    from rated
    where rate_per_1000 is not null
    group by force, quarter_start

),

ranked as (

    select
        rated.*,
        case when rated.rate_per_1000 is not null then rank() over (
            partition by rated.force, rated.quarter_start, rated.rate_per_1000 is null
            order by rated.rate_per_1000) end as rank_in_force

    from rated

),

final as (

    select
        ranked.partnership_code,
        ranked.partnership_name,
        ranked.quarter_start,
        quarters.fiscal_quarter,
        ranked.force,
        ranked.is_complete,
        ranked.records,
        ranked.population,
        ranked.population_year,
        ranked.rate_per_1000,
        ranked.rate_lower_95,
        ranked.rate_upper_95,
        force_totals.partnerships_in_force,
        ranked.rank_in_force,
        force_totals.force_records,
        force_totals.force_population,
        force_totals.force_rate_per_1000,
        {{ compared_with_benchmark(
            'ranked.rate_lower_95', 'ranked.rate_upper_95', 'force_totals.force_rate_per_1000'
        ) }} as compared_with_force

    from ranked
    left join force_totals
        on ranked.force = force_totals.force
        and ranked.quarter_start = force_totals.quarter_start
    left join quarters on ranked.quarter_start = quarters.quarter_start

)

select * from final
