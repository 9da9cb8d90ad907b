with

source as (

    select * from {{ source('raw', 'police_crime') }}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        cast(source_row as integer) as source_row,
        crime_reference,
        cast(recorded_date as date) as recorded_date,
        cast(offence_date as date) as offence_date,
        ho_class,
        offence_description,
        location_type,
        cast(da_flag as boolean) as is_domestic_abuse,
        cast(knife_flag as boolean) as is_knife,
        cast(firearm_flag as boolean) as is_firearm,
        status,
        cast(victim_age as integer) as victim_age,
        lsoa_code,
        ward,
        sector

    from source

),

latest as (

    {{ latest_current_rows('renamed', ['rows.crime_reference']) }}

),

final as (

    select
        crime_reference,
        delivery_la_code as la_code,
        recorded_date,
        offence_date,
        ho_class,
        offence_description,
        location_type,
        is_domestic_abuse,
        is_knife,
        is_firearm,
        status,
        status = 'Cancelled' as is_cancelled,
        victim_age,
        lsoa_code,
        ward,
        sector,
        delivery_id,
        source_row

    from latest

)

select * from final
