{#- Every local authority district the lookups know, with the partnership (CSP) it belongs to,
    its police force area and the data.police.uk slug of that force (seeds/police_forces.csv,
    by pfa_code). The ONS district lookup decides; a district only the LSOA lookup knows (or
    every district, when no district lookup is loaded) is a partnership of its own, policed by
    the force the LSOA lookup names.

    A district the lookup places in several partnerships (ONS's December 2019 lookup lists
    Bournemouth, Christchurch and Poole in three, its CSPs not yet merged) cannot be divided
    by a district-level lookup, so it is a partnership of its own, with the partnerships it
    is split between named; counting it in each would count its records three times.
    orchestration/config.py resolve_partnership applies the same rule to --partnership. -#}
with

district_lookup_rows as (

    select * from {{ ref('stg_ons__district_lookup') }}

),

district_lookup as (

    select
        la_code,
        max(la_name) as la_name,
        case when count(distinct csp_code) = 1 then max(csp_code) else la_code end as csp_code,
        case when count(distinct csp_code) = 1 then max(csp_name) else max(la_name) end as csp_name,
        max(pfa_code) as pfa_code,
        max(pfa_name) as pfa_name,
        case when count(distinct csp_code) > 1
            then {{ dbt.listagg('csp_code', "','", 'order by csp_code') }} end as split_between

    from district_lookup_rows
    group by la_code

),

lsoa_districts as (

    select
        la_code,
        max(la_name) as la_name,
        max(force) as force

    from {{ ref('stg_csp__lsoa_lookup') }}
    group by la_code

),

forces as (

    select * from {{ ref('police_forces') }}
    where pfa_code is not null

),

from_district_lookup as (

    select
        district_lookup.la_code,
        coalesce(district_lookup.la_name, lsoa_districts.la_name) as la_name,
        district_lookup.csp_code as partnership_code,
        coalesce(district_lookup.csp_name, district_lookup.csp_code) as partnership_name,
        district_lookup.pfa_code,
        district_lookup.pfa_name,
        -- A lookup without police force areas falls back on the LSOA lookup's force.
        coalesce(forces.force, lsoa_districts.force) as force,
        true as is_in_district_lookup,
        district_lookup.split_between

    from district_lookup
    left join forces on district_lookup.pfa_code = forces.pfa_code
    left join lsoa_districts on district_lookup.la_code = lsoa_districts.la_code

),

from_lsoa_lookup as (

    select
        lsoa_districts.la_code,
        lsoa_districts.la_name,
        lsoa_districts.la_code as partnership_code,
        coalesce(lsoa_districts.la_name, lsoa_districts.la_code) as partnership_name,
        forces.pfa_code,
        forces.force_name as pfa_name,
        lsoa_districts.force,
        false as is_in_district_lookup,
        null as split_between

    from lsoa_districts
    left join forces on lsoa_districts.force = forces.force
    left join district_lookup on lsoa_districts.la_code = district_lookup.la_code
    where district_lookup.la_code is null

),

unioned as (

    select * from from_district_lookup
    union all
    select * from from_lsoa_lookup

),

final as (

    select
        la_code,
        la_name,
        partnership_code,
        partnership_name,
        pfa_code,
        pfa_name,
        force,
        is_in_district_lookup,
        split_between

    from unioned

)

select * from final
