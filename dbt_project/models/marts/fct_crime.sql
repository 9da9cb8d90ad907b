with

crimes as (

    select * from {{ ref('int_crimes_classified') }}
    where not is_cancelled

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

final as (

    select
        crimes.la_code,
        crimes.crime_reference,
        crimes.recorded_date,
        quarters.fiscal_quarter,
        crimes.offence_date,
        crimes.ho_class,
        crimes.category,
        crimes.location_type,
        crimes.is_ppv,
        crimes.is_domestic_abuse,
        crimes.is_knife_or_firearm,
        crimes.victim_age,
        crimes.lsoa_code,
        crimes.ward,
        crimes.sector,
        crimes.delivery_id

    from crimes
    left join quarters
        on crimes.quarter_start = quarters.quarter_start

)

select * from final
