with

source as (

    select * from {{ source('raw', 'idva_screening') }}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        cast(source_row as integer) as source_row,
        cast(screening_month as date) as screening_month,
        cast(incidents_screened as integer) as incidents_screened

    from source

),

latest as (

    {{ latest_current_rows('renamed', ['delivered_rows.screening_month']) }}

),

final as (

    select
        screening_month,
        delivery_la_code as la_code,
        incidents_screened,
        delivery_id,
        source_row

    from latest

)

select * from final
