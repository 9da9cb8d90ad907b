{#- IDVA indicator events: cases count in the quarter of referral, screenings in the
    quarter of the screened month. -#}
with

cases as (

    select
        *,
        {{ quarter_start('referral_date') }} as referral_quarter_start

    from {{ ref('stg_idva__cases') }}

),

screenings as (

    select * from {{ ref('stg_idva__screenings') }}

),

events as (

    select
        'VA_IDVA_HIGH_RISK' as indicator_code, la_code, referral_quarter_start as quarter_start,
        1 as numerator, null as denominator, case_token as record_key, delivery_id
    from cases
    where risk_level = 'High'

    union all

    select
        'VA_REPEAT_RATE' as indicator_code, la_code, referral_quarter_start as quarter_start,
        case when is_repeat_victim then 1 else 0 end as numerator,
        1 as denominator, case_token as record_key, delivery_id
    from cases

    union all

    select
        'VA_MARAC_REFERRALS' as indicator_code, la_code, referral_quarter_start as quarter_start,
        1 as numerator, null as denominator, case_token as record_key, delivery_id
    from cases
    where is_marac_referral

    union all

    select
        'VA_SCREENED' as indicator_code, la_code,
        {{ quarter_start('screening_month') }} as quarter_start,
        incidents_screened as numerator, null as denominator,
        {{ date_text('screening_month') }} as record_key, delivery_id
    from screenings

),

final as (

    select
        indicator_code,
        la_code,
        quarter_start,
        {{ event_measures('numerator', 'denominator') }},
        record_key,
        delivery_id

    from events

)

select * from final
