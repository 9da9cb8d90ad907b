-- A table, not a view as staging usually is: latest-row-wins over ten years of force-wide
-- crime is a window over every row, and four models and tests read it (BENCHMARKS.md).
{{ config(materialized='table') }}

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

lookup as (

    select * from {{ ref('stg_csp__lsoa_lookup') }}

),

located as (

    -- A force-wide extract names its force in the file name: its crimes belong to the
    -- authority their LSOA lies in (null when the lookup does not know the LSOA; those are
    -- listed in fct_police_unknown_lsoa, never silently dropped). A partnership's own
    -- extract belongs to the partnership.
    select
        latest.*,
        latest.delivery_partner is not null and latest.delivery_partner <> 'Police'
            as is_force_wide,
        lookup.la_code as lsoa_la_code

    from latest
    left join lookup on latest.lsoa_code = lookup.lsoa_code

),

final as (

    select
        crime_reference,
        case when is_force_wide then lsoa_la_code else delivery_la_code end as la_code,
        is_force_wide,
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

    from located

)

select * from final
