{#- data.police.uk records whose LSOA the lookup does not know, as fct_police_unknown_lsoa
    lists them for force-wide extracts: they count for no partnership until the lookup is
    completed, so they are listed rather than dropped. Only once a lookup is loaded: without
    one no LSOA is known, and fct_police_uk_force_month counts them all as unknown_lsoa_records. -#}
with

records as (

    select * from {{ ref('int_police_uk_records_located') }}
    where has_location and not is_lsoa_known
        and exists (select 1 from {{ ref('stg_csp__lsoa_lookup') }})

),

deliveries as (

    select * from {{ ref('stg_csp__deliveries') }}

),

final as (

    select
        records.force,
        records.month,
        records.lsoa_code,
        max(records.lsoa_name) as lsoa_name,
        count(*) as records,
        records.delivery_id,
        deliveries.file_name,
        min(records.source_row) as first_source_row

    from records
    inner join deliveries on records.delivery_id = deliveries.delivery_id
    group by records.force, records.month, records.lsoa_code, records.delivery_id,
        deliveries.file_name

)

select * from final
