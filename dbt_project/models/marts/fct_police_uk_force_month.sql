{#- Every data.police.uk record of the current files, by force, month and crime type, split
    into located records, records with no location and records whose LSOA the lookup does not
    know: records = located_records + no_location_records + unknown_lsoa_records, so nothing is
    dropped unseen. -#}
with

records as (

    select * from {{ ref('int_police_uk_records_located') }}

),

final as (

    select
        force,
        month,
        {{ quarter_start('month') }} as quarter_start,
        crime_type,
        is_anti_social_behaviour,
        count(*) as records,
        sum(case when is_lsoa_known then 1 else 0 end) as located_records,
        sum(case when not has_location then 1 else 0 end) as no_location_records,
        sum(case when has_location and not is_lsoa_known then 1 else 0 end) as unknown_lsoa_records,
        max(delivery_id) as delivery_id

    from records
    group by force, month, crime_type, is_anti_social_behaviour

)

select * from final
