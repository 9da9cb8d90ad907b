with

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

final as (

    select
        fiscal_quarter,
        quarter_key,
        financial_year,
        fy_start_year,
        quarter_number,
        quarter_start,
        quarter_end

    from quarters

)

select * from final
