{#- data.police.uk records by partnership, month and crime type: every partnership whose
    LSOAs appear in the current files, whichever force's file holds the records. Only located
    records; the rest are counted by force in fct_police_uk_force_month. -#}
with

records as (

    select * from {{ ref('int_police_uk_records_located') }}
    where partnership_code is not null

),

final as (

    select
        partnership_code,
        month,
        {{ quarter_start('month') }} as quarter_start,
        crime_type,
        is_anti_social_behaviour,
        count(*) as records

    from records
    group by partnership_code, month, crime_type, is_anti_social_behaviour

)

select * from final
