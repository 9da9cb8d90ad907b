with

source as (

    select * from {{ source('raw', 'idva_cases') }}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        cast(source_row as integer) as source_row,
        case_token,
        case_token_key_version,
        cast(referral_date as date) as referral_date,
        referral_source,
        risk_level,
        cast(dash_score as integer) as dash_score,
        cast(marac_referral as boolean) as is_marac_referral,
        cast(repeat_victim as boolean) as is_repeat_victim,
        cast(children_in_household as integer) as children_in_household,
        pregnant,
        victim_gender,
        victim_age_band,
        cast(case_closed_date as date) as case_closed_date,
        closure_reason

    from source

),

latest as (

    {{ latest_current_rows('renamed', ['delivered_rows.case_token']) }}

),

final as (

    select
        case_token,
        case_token_key_version,
        delivery_la_code as la_code,
        referral_date,
        referral_source,
        risk_level,
        dash_score,
        is_marac_referral,
        is_repeat_victim,
        children_in_household,
        pregnant,
        victim_gender,
        victim_age_band,
        case_closed_date,
        closure_reason,
        delivery_id,
        source_row

    from latest

)

select * from final
