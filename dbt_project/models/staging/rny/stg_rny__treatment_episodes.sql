with

source as (

    select * from {{ source('raw', 'rny_treatment') }}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        cast(source_row as integer) as source_row,
        client_token,
        client_token_key_version,
        age_band,
        sex,
        cast(referral_date as date) as referral_date,
        referral_source,
        substance,
        cast(class_a_positive as boolean) as is_class_a_positive,
        cast(treatment_start_date as date) as treatment_start_date,
        cast(discharge_date as date) as discharge_date,
        discharge_reason,
        cast(iom_cohort as boolean) as is_iom_cohort,
        required_assessment,
        cast(mental_health_referral as boolean) as is_mental_health_referral

    from source

),

latest as (

    {{ latest_current_rows('renamed', ['delivered_rows.client_token', 'delivered_rows.referral_date']) }}

),

final as (

    select
        client_token,
        client_token_key_version,
        referral_date,
        delivery_la_code as la_code,
        age_band,
        sex,
        referral_source,
        substance,
        is_class_a_positive,
        treatment_start_date,
        discharge_date,
        discharge_reason,
        is_iom_cohort,
        required_assessment,
        is_mental_health_referral,
        delivery_id,
        source_row

    from latest

)

select * from final
