with

source as (

    select * from {{ source('raw', 'partnership') }}

),

renamed as (

    select
        la_code,
        name as la_name

    from source

),

final as (

    select * from renamed

)

select * from final
