{#- data.police.uk street-level records of current deliveries only: a re-published month
    arrives as a second file for the same force and month and replaces the first whole
    (stg_csp__deliveries.is_current). The feed has no record key (core/feeds/police_uk.yml):
    a repeated Crime ID is two records and anti-social behaviour has none, so every row is one
    record and no latest-row rule applies. -#}
with

source as (

    select * from {{ source('raw', 'police_uk_street') }}

),

deliveries as (

    select * from {{ ref('stg_csp__deliveries') }}
    where is_current

),

crime_types as (

    select * from {{ ref('police_uk_crime_types') }}

),

renamed as (

    select
        cast(source.delivery_id as integer) as delivery_id,
        cast(source.source_row as integer) as source_row,
        -- The delivery's partner is the force, as data.police.uk writes it in the file name.
        deliveries.partner as force,
        cast(source.month || '-01' as date) as month,
        nullif(trim(source.crime_id), '') as crime_id,
        source.crime_type,
        -- "No location" rows come with an empty LSOA code.
        nullif(trim(source.lsoa_code), '') as lsoa_code,
        source.lsoa_name,
        source.reported_by,
        source.falls_within,
        source.last_outcome_category

    from source
    inner join deliveries on source.delivery_id = deliveries.delivery_id

),

final as (

    select
        renamed.force,
        renamed.month,
        renamed.crime_id,
        renamed.crime_type,
        renamed.lsoa_code,
        renamed.lsoa_name,
        renamed.reported_by,
        renamed.falls_within,
        renamed.last_outcome_category,
        coalesce(crime_types.is_anti_social_behaviour, false) as is_anti_social_behaviour,
        renamed.delivery_id,
        renamed.source_row

    from renamed
    left join crime_types on renamed.crime_type = crime_types.crime_type

)

select * from final
