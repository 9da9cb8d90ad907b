{#- Treatment indicator events. Referral-based indicators count in the quarter of the
    referral; completions in the quarter of the discharge. -#}
with

episodes as (

    select
        *,
        {{ quarter_start('referral_date') }} as referral_quarter_start,
        {{ quarter_start('discharge_date') }} as discharge_quarter_start,
        client_token || ' ' || {{ date_text('referral_date') }} as record_key

    from {{ ref('stg_rny__treatment_episodes') }}

),

events as (

    select
        'SM_CJ_REFERRALS' as indicator_code, la_code, referral_quarter_start as quarter_start,
        1 as numerator, null as denominator, record_key, delivery_id
    from episodes
    where referral_source in ('Arrest Referral', 'Court', 'Probation', 'Prison')

    union all

    select
        'SM_CLASSA_ENGAGED' as indicator_code, la_code, referral_quarter_start as quarter_start,
        case when treatment_start_date is not null then 1 else 0 end as numerator,
        1 as denominator, record_key, delivery_id
    from episodes
    where referral_source = 'Arrest Referral' and is_class_a_positive

    union all

    -- A transfer is neither a success nor a failure: it leaves the denominator.
    select
        'SM_COMPLETIONS' as indicator_code, la_code, discharge_quarter_start as quarter_start,
        case when discharge_reason like 'Completed%' then 1 else 0 end as numerator,
        1 as denominator, record_key, delivery_id
    from episodes
    where discharge_date is not null and coalesce(discharge_reason, '') <> 'Transferred'

    union all

    select
        'SM_RA_BREACHES' as indicator_code, la_code, referral_quarter_start as quarter_start,
        1 as numerator, null as denominator, record_key, delivery_id
    from episodes
    where required_assessment = 'Breach'

    union all

    select
        'SM_MH_REFERRALS' as indicator_code, la_code, referral_quarter_start as quarter_start,
        1 as numerator, null as denominator, record_key, delivery_id
    from episodes
    where is_mental_health_referral

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
