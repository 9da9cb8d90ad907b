with

comparison as (

    select * from {{ ref('fct_reoffending_comparison') }}

),

final as (

    select
        fiscal_quarter,
        quarter_start,
        la_code,
        la_name,
        offenders,
        actual_rate,
        predicted_rate,
        difference_pct,
        difference_lower_95,
        difference_upper_95,
        rank_all,
        authorities_all,
        quartile_all,
        average_all,
        compared_with_all,
        rank_similar,
        authorities_similar,
        quartile_similar,
        average_similar,
        compared_with_similar

    from comparison

    where is_partnership

)

select * from final
