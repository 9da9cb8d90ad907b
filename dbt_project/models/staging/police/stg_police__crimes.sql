-- Incremental: ten years of force-wide crime is ten million rows, and a new month's files
-- touch a few hundred thousand crime references. A run recomputes the latest row of every
-- reference a new delivery holds, and of every reference whose winning row came from a
-- delivery that is no longer current (a revised month superseded it); the post-hook then drops
-- winners of superseded deliveries that no current delivery holds any more. Placing crimes in
-- an authority by LSOA is downstream (int_crimes_located), so a new lookup applies to every
-- crime without a full refresh.
{{ config(
    materialized='incremental',
    unique_key='crime_reference',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ delete_rows_of_deliveries_not_current() }}",
        {"sql": "{{ duckdb_checkpoint() }}", "transaction": false},
    ],
) }}

with

{% if is_incremental() %}
affected as (

    -- Read from the raw table, not through the CTEs below: two readers would make DuckDB
    -- materialise every column of every row. Both halves filter by delivery through
    -- semi-joins on the small manifest: a comparison with a scalar subquery, or a join,
    -- leaves DuckDB estimating hundreds of millions of affected rows, and at national scale
    -- it then hashed every raw row instead of these (out of memory).
    select crime_reference from {{ source('raw', 'police_crime') }}
    where delivery_id in (
        select delivery_id from {{ ref('stg_csp__deliveries') }}
        where delivery_id > (select coalesce(max(delivery_id), 0) from {{ this }})
    )

    union

    select crime_reference from {{ this }}
    where delivery_id in (
        select delivery_id from {{ ref('stg_csp__deliveries') }}
        where not is_current
    )

),
{% endif %}

source as (

    select * from {{ source('raw', 'police_crime') }}
    {% if is_incremental() %}
    where crime_reference in (select crime_reference from affected)
    {% endif %}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        cast(source_row as integer) as source_row,
        crime_reference,
        cast(recorded_date as date) as recorded_date,
        cast(offence_date as date) as offence_date,
        ho_class,
        offence_description,
        location_type,
        cast(da_flag as boolean) as is_domestic_abuse,
        cast(knife_flag as boolean) as is_knife,
        cast(firearm_flag as boolean) as is_firearm,
        status,
        cast(victim_age as integer) as victim_age,
        lsoa_code,
        ward,
        sector

    from source

),

latest as (

    {{ latest_current_rows('renamed', ['delivered_rows.crime_reference']) }}

),

final as (

    select
        crime_reference,
        -- A force-wide extract names its force in the file name (int_crimes_located).
        delivery_partner is not null and delivery_partner <> 'Police' as is_force_wide,
        delivery_la_code,
        recorded_date,
        offence_date,
        ho_class,
        offence_description,
        location_type,
        is_domestic_abuse,
        is_knife,
        is_firearm,
        status,
        status = 'Cancelled' as is_cancelled,
        victim_age,
        lsoa_code,
        ward,
        sector,
        delivery_id,
        source_row

    from latest

)

select * from final
