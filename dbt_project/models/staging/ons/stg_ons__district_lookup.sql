with

source as (

    select * from {{ source('raw', 'district_lookup') }}

),

renamed as (

    select
        trim(la_code) as la_code,
        la_name,
        trim(csp_code) as csp_code,
        csp_name,
        nullif(trim(pfa_code), '') as pfa_code,
        pfa_name

    from source

),

final as (

    select * from renamed

)

select * from final
