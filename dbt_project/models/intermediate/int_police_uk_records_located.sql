{#- Each data.police.uk record with the district (LSOA lookup) and partnership
    (int_districts_partnered) its LSOA lies in. A record with no LSOA, or with one the lookup
    does not know, has neither: it is counted by force in fct_police_uk_force_month (and the
    unknown LSOAs listed in fct_police_uk_unknown_lsoa), never dropped silently. -#}
with

records as (

    select * from {{ ref('stg_police_uk__street_records') }}

),

lookup as (

    select * from {{ ref('stg_csp__lsoa_lookup') }}

),

districts as (

    select * from {{ ref('int_districts_partnered') }}

),

final as (

    select
        records.force,
        records.month,
        records.crime_id,
        records.crime_type,
        records.is_anti_social_behaviour,
        records.lsoa_code,
        records.lsoa_name,
        lookup.la_code,
        districts.partnership_code,
        records.lsoa_code is not null as has_location,
        lookup.la_code is not null as is_lsoa_known,
        records.delivery_id,
        records.source_row

    from records
    left join lookup on records.lsoa_code = lookup.lsoa_code
    left join districts on lookup.la_code = districts.la_code

)

select * from final
