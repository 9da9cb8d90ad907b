with

source as (

    select * from {{ source('raw', 'lsoa_population') }}

),

renamed as (

    select
        trim(lsoa_code) as lsoa_code,
        cast(estimate_year as integer) as estimate_year,
        cast(population as integer) as population

    from source

),

final as (

    select * from renamed

)

select * from final
