{#- The partnership plus every local authority of the MoJ table (kept for benchmarking). -#}
with

partnership as (

    select * from {{ ref('stg_csp__partnership') }}

),

moj_areas as (

    select
        la_code,
        max(local_authority) as la_name

    from {{ ref('stg_moj__reoffending_rates') }}
    group by la_code

),

final as (

    select
        la_code,
        la_name,
        true as is_partnership

    from partnership

    union all

    select
        la_code,
        la_name,
        false as is_partnership

    from moj_areas
    where moj_areas.la_code not in (select partnership.la_code from partnership)

)

select * from final
