{#- The quarters the warehouse reports: from the quarter of the earliest period any
    (non-rejected) delivery covers through the quarter holding the as-of date. -#}
with

deliveries as (

    select * from {{ ref('stg_csp__deliveries') }}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

span as (

    select
        {{ quarter_start('min(period_start)') }} as first_quarter_start,
        {{ quarter_start(as_of_date()) }} as last_quarter_start

    from deliveries
    where status <> 'rejected'

),

final as (

    select quarters.*
    from quarters
    inner join span
        on quarters.quarter_start between span.first_quarter_start and span.last_quarter_start

)

select * from final
