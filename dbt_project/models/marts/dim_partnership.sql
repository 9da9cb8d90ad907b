{#- Every local authority the warehouse can report for: the configured partnership, and every
    authority of the LSOA lookup (the partnerships of the forces whose extracts it holds). -#}
with

partnership as (

    select * from {{ ref('stg_csp__partnership') }}

),

lookup_areas as (

    select
        la_code,
        max(la_name) as la_name,
        max(force) as force

    from {{ ref('stg_csp__lsoa_lookup') }}
    group by la_code

),

forces as (

    select * from {{ ref('police_forces') }}

),

areas as (

    select
        coalesce(partnership.la_code, lookup_areas.la_code) as la_code,
        -- A partnership configured without a name takes the lookup's.
        coalesce(nullif(partnership.la_name, partnership.la_code), lookup_areas.la_name,
                 partnership.la_name) as la_name,
        lookup_areas.force,
        partnership.la_code is not null as is_configured

    from lookup_areas
    full outer join partnership on lookup_areas.la_code = partnership.la_code

),

final as (

    select
        areas.la_code,
        areas.la_name,
        areas.force,
        forces.force_name,
        areas.is_configured

    from areas
    left join forces on areas.force = forces.force

)

select * from final
