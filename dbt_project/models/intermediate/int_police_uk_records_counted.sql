{#- data.police.uk indicator events, pre-aggregated: per indicator, district, force file and
    month, the located records (value = records; a count indicator sums value). PC_<TYPE>
    counts its crime type (seeds/police_uk_crime_types.csv); PC_TOTAL every type but
    anti-social behaviour. Unplaced records count for no partnership. -#}
{{ config(materialized='view') }}
with

records as (

    select * from {{ ref('int_police_uk_records_located') }}
    where la_code is not null

),

crime_types as (

    select * from {{ ref('police_uk_crime_types') }}

),

events as (

    select
        crime_types.indicator_code,
        records.la_code,
        records.force,
        records.month,
        records.delivery_id

    from records
    inner join crime_types on records.crime_type = crime_types.crime_type

    union all

    select
        'PC_TOTAL' as indicator_code,
        la_code,
        force,
        month,
        delivery_id

    from records
    where not is_anti_social_behaviour

),

final as (

    select
        indicator_code,
        la_code,
        {{ quarter_start('month') }} as quarter_start,
        {{ as_double('count(*)') }} as numerator,
        {{ as_double('null') }} as denominator,
        {{ as_double('count(*)') }} as value,
        -- One event per file and district: the force, the month and the district.
        force || ' ' || {{ month_label('month') }} || ' ' || la_code as record_key,
        delivery_id

    from events
    group by indicator_code, la_code, force, month, delivery_id

)

select * from final
