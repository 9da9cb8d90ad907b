{#- Crimes of force-wide extracts whose LSOA the lookup does not know: they count for no
    authority until the lookup is completed, so they are listed here rather than dropped. -#}
with

crimes as (

    select * from {{ ref('int_crimes_located') }}
    where is_force_wide and la_code is null

),

deliveries as (

    select * from {{ ref('stg_csp__deliveries') }}

),

final as (

    select
        crimes.delivery_id,
        deliveries.file_name,
        deliveries.partner as force,
        crimes.lsoa_code,
        count(*) as crimes,
        min(crimes.source_row) as first_source_row

    from crimes
    inner join deliveries on crimes.delivery_id = deliveries.delivery_id
    group by crimes.delivery_id, deliveries.file_name, deliveries.partner, crimes.lsoa_code

)

select * from final
