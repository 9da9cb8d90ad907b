{#- Every partnership (Community Safety Partnership) the warehouse can report for: those of the
    district lookup, districts only the LSOA lookup knows (partnerships of their own), and the
    configured partnership even when no lookup knows it. la_code and la_name repeat the
    partnership's code and name for the readers written when a partnership was one district. -#}
with

partnership as (

    select * from {{ ref('stg_csp__partnership') }}

),

districts as (

    select * from {{ ref('int_districts_partnered') }}

),

forces as (

    select * from {{ ref('police_forces') }}

),

estimates as (

    select * from {{ ref('int_partnership_populations_estimated') }}

),

latest_estimates as (

    select
        partnership_code,
        estimate_year,
        population

    from (
        select
            *,
            row_number() over (partition by partnership_code order by estimate_year desc)
                as estimate_rank
        from estimates
    ) as ranked
    where estimate_rank = 1

),

lookup_partnerships as (

    select
        partnership_code,
        max(partnership_name) as partnership_name,
        {{ dbt.listagg('la_code', "','", 'order by la_code') }} as districts,
        count(*) as district_count,
        -- A partnership lies in one force area; max() only picks it.
        max(force) as force,
        max(pfa_code) as pfa_code,
        max(split_between) as split_between

    from districts
    group by partnership_code

),

partnerships as (

    select
        coalesce(lookup_partnerships.partnership_code, partnership.la_code) as partnership_code,
        -- A partnership configured without a name takes the lookup's.
        coalesce(nullif(partnership.la_name, partnership.la_code),
                 lookup_partnerships.partnership_name, partnership.la_name) as partnership_name,
        -- A code no lookup knows is a partnership of one district, that code (as
        -- orchestration/config.py resolves it).
        coalesce(lookup_partnerships.districts, partnership.la_code) as districts,
        coalesce(lookup_partnerships.district_count, 1) as district_count,
        lookup_partnerships.force,
        lookup_partnerships.pfa_code,
        lookup_partnerships.split_between,
        partnership.la_code is not null as is_configured

    from lookup_partnerships
    full outer join partnership
        on lookup_partnerships.partnership_code = partnership.la_code

),

final as (

    select
        partnerships.partnership_code,
        partnerships.partnership_name,
        partnerships.districts,
        partnerships.district_count,
        partnerships.force,
        forces.force_name,
        partnerships.pfa_code,
        latest_estimates.population,
        latest_estimates.estimate_year as population_year,
        partnerships.split_between,
        partnerships.is_configured,
        partnerships.partnership_code as la_code,
        partnerships.partnership_name as la_name

    from partnerships
    left join forces on partnerships.force = forces.force
    left join latest_estimates
        on partnerships.partnership_code = latest_estimates.partnership_code

)

select * from final
