{#- The population estimate each partnership's figures for a quarter use: the latest whose
    mid-year date (30 June of the estimate year) is not after the quarter's end, else (a quarter
    before every estimate loaded) the earliest. One rule for the indicator rates and the
    comparison between partnerships. -#}
with

estimates as (

    select * from {{ ref('int_partnership_populations_estimated') }}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

candidates as (

    select
        estimates.partnership_code,
        quarters.quarter_start,
        quarters.quarter_end,
        estimates.estimate_year,
        estimates.population,
        estimates.lsoas_counted,
        cast(cast(estimates.estimate_year as {{ dbt.type_string() }}) || '-06-30' as date)
            <= quarters.quarter_end as is_estimated_by_quarter_end

    from estimates
    cross join quarters

),

ranked as (

    select
        *,
        row_number() over (
            partition by partnership_code, quarter_start
            order by
                case when is_estimated_by_quarter_end then 0 else 1 end,
                case when is_estimated_by_quarter_end then -estimate_year else estimate_year end
        ) as estimate_rank

    from candidates

),

final as (

    select
        partnership_code,
        quarter_start,
        quarter_end,
        estimate_year,
        population,
        lsoas_counted

    from ranked
    where estimate_rank = 1

)

select * from final
