{#- Partner-return events: one per (indicator, quarter). Percentages contribute their parts
    (so quarters add up by the ratio rule); counts contribute the returned value. -#}
with

returns as (

    select * from {{ ref('stg_partner__returns') }}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

indicators as (

    select * from {{ ref('indicators') }}

),

final as (

    select
        returns.indicator_code,
        returns.la_code,
        quarters.quarter_start,
        case when indicators.unit = 'percent' then returns.numerator end as numerator,
        case when indicators.unit = 'percent' then returns.denominator end as denominator,
        returns.returned_value as value,
        returns.return_key as record_key,
        returns.delivery_id

    from returns
    inner join quarters
        on returns.fiscal_quarter = quarters.fiscal_quarter
    inner join indicators
        on returns.indicator_code = indicators.code

)

select * from final
