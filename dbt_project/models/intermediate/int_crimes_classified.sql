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
        crimes.recorded_date,
        {{ quarter_start('crimes.recorded_date') }} as quarter_start,
        crimes.offence_date,
        crimes.ho_class,
        offence_classes.category,
        crimes.location_type,
        coalesce(offence_classes.violence_with_injury, false)
            and crimes.location_type <> 'Dwelling' as is_ppv,
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
