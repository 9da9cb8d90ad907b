with

indicators as (

    select * from {{ ref('indicators') }}

),

final as (

    select
        code as indicator_code,
        name as indicator_name,
        priority,
        feed,
        owner,
        unit,
        polarity,
        aggregation,
        target,
        definition

    from indicators

)

select * from final
