with

source as (

    select * from {{ source('raw', 'lsoa_lookup') }}

),

renamed as (

    select
        trim(lsoa_code) as lsoa_code,
        trim(la_code) as la_code,
        la_name,
        force

    from source

),

final as (

    select * from renamed

)

select * from final
