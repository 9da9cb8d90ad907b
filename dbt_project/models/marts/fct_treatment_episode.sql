with

episodes as (

    select * from {{ ref('stg_rny__treatment_episodes') }}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

final as (

    select
        episodes.client_token || ' ' || {{ date_text('episodes.referral_date') }} as episode_key,
        episodes.la_code,
        episodes.client_token,
        episodes.referral_date,
        quarters.fiscal_quarter,
        episodes.age_band,
        episodes.sex,
        episodes.referral_source,
        episodes.substance,
        episodes.is_class_a_positive,
        episodes.treatment_start_date,
        episodes.discharge_date,
        episodes.discharge_reason,
        episodes.is_iom_cohort,
        episodes.required_assessment,
        episodes.is_mental_health_referral,
        episodes.delivery_id

    from episodes
    left join quarters
        on {{ quarter_start('episodes.referral_date') }} = quarters.quarter_start

)

select * from final
