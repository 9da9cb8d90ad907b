{#- A view: each crime row joined to the 31-row offence class list and given its flags. Stored,
    it would be a second copy of every crime, rewritten in full on each build (about a tenth
    of a medium build, BENCHMARKS.md); fct_crime and int_crimes_counted read it once each. -#}
{{ config(materialized='view') }}

with

crimes as (

    select * from {{ ref('int_crimes_located') }}

),

offence_classes as (

    select * from {{ ref('ho_offence_classes') }}

),

final as (

    select
        crimes.crime_reference,
        crimes.la_code,
        crimes.is_force_wide,
        crimes.recorded_date,
        {{ quarter_start('crimes.recorded_date') }} as quarter_start,
        crimes.offence_date,
        crimes.ho_class,
        offence_classes.category,
        crimes.location_type,
        {{ is_ppv('offence_classes.violence_with_injury', 'crimes.location_type') }} as is_ppv,
        crimes.is_domestic_abuse,
        crimes.is_knife or crimes.is_firearm as is_knife_or_firearm,
        crimes.is_cancelled,
        crimes.victim_age,
        crimes.lsoa_code,
        crimes.ward,
        crimes.sector,
        crimes.delivery_id

    from crimes
    left join offence_classes
        on crimes.ho_class = offence_classes.ho_class

)

select * from final
