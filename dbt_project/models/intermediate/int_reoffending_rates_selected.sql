{#- MoJ events: one per local authority and table period (every LA is kept for
    benchmarking; the indicator mart keeps the partnership's). A suppressed row has no
    value, numerator or denominator. offenders weighs the rates when a partnership's
    districts are combined (int_indicator_quarters_aggregated). -#}
with

rates as (

    select * from {{ ref('stg_moj__reoffending_rates') }}

),

final as (

    select
        'RR_REOFFEND_DIFF' as indicator_code,
        la_code,
        {{ quarter_start('period_start') }} as quarter_start,
        actual_rate as numerator,
        predicted_rate as denominator,
        difference_pct as value,
        offenders,
        la_code as record_key,
        delivery_id

    from rates

)

select * from final
