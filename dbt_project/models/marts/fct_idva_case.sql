with

cases as (

    select * from {{ ref('stg_idva__cases') }}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

final as (

    select
        cases.case_token,
        cases.la_code,
        cases.referral_date,
        quarters.fiscal_quarter,
        cases.referral_source,
        cases.risk_level,
        cases.dash_score,
        cases.is_marac_referral,
        cases.is_repeat_victim,
        cases.children_in_household,
        cases.pregnant,
        cases.victim_gender,
        cases.victim_age_band,
        cases.case_closed_date,
        cases.closure_reason,
        cases.delivery_id

    from cases
    left join quarters
        on {{ quarter_start('cases.referral_date') }} = quarters.quarter_start

)

select * from final
