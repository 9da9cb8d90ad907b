{#- Police indicator events: one row per counted crime and indicator, in the quarter of the
    recorded date; cancelled crimes never count. -#}
{{ config(materialized='view') }}
with

crimes as (

    select * from {{ ref('int_crimes_classified') }}
    where not is_cancelled

),

events as (

    select 'PV_PPV' as indicator_code, * from crimes where is_ppv
    union all
    select 'VA_DA_CRIMES' as indicator_code, * from crimes where is_domestic_abuse
    union all
    select 'GY_KNIFE_FIREARM' as indicator_code, * from crimes where is_knife_or_firearm

),

final as (

    select
        indicator_code,
        la_code,
        quarter_start,
        {{ as_double('1') }} as numerator,
        {{ as_double('null') }} as denominator,
        {{ as_double('1') }} as value,
        crime_reference as record_key,
        delivery_id

    from events

)

select * from final
