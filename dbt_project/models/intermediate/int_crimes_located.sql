{#- The authority each crime counts for. A force-wide extract names its force in the file name:
    its crimes belong to the authority their LSOA lies in (null when the lookup does not know
    the LSOA; those are listed in fct_police_unknown_lsoa, never silently dropped). A
    partnership's own extract belongs to the partnership. A view: the lookup may change
    between builds, and the incremental staging below it must not keep an old placement. -#}
{{ config(materialized='view') }}

with

crimes as (

    select * from {{ ref('stg_police__crimes') }}

),

lookup as (

    select * from {{ ref('stg_csp__lsoa_lookup') }}

),

final as (

    select
        crimes.crime_reference,
        case when crimes.is_force_wide then lookup.la_code else crimes.delivery_la_code end
            as la_code,
        crimes.is_force_wide,
        crimes.recorded_date,
        crimes.offence_date,
        crimes.ho_class,
        crimes.offence_description,
        crimes.location_type,
        crimes.is_domestic_abuse,
        crimes.is_knife,
        crimes.is_firearm,
        crimes.status,
        crimes.is_cancelled,
        crimes.victim_age,
        crimes.lsoa_code,
        crimes.ward,
        crimes.sector,
        crimes.delivery_id,
        crimes.source_row

    from crimes
    left join lookup on crimes.lsoa_code = lookup.lsoa_code

)

select * from final
