with

source as (

    select * from {{ source('raw', 'moj_reoffending') }}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        cast(source_row as integer) as source_row,
        la_code,
        local_authority,
        probation_trust,
        cast(offenders as integer) as offenders,
        -- Suppressed cells ('..', fewer than 30 offenders) arrive as null.
        cast(actual_rate as double precision) as actual_rate,
        cast(predicted_rate as double precision) as predicted_rate,
        cast(difference_pct as double precision) as difference_pct,
        cast(significant as boolean) as is_significant

    from source

),

latest as (

    -- The table's period is the delivery's: the record key is (LA Code, period).
    {{ latest_current_rows('renamed', ['delivered_rows.la_code', 'deliveries.period_start']) }}

),

final as (

    select
        la_code,
        delivery_period_start as period_start,
        local_authority,
        probation_trust,
        offenders,
        actual_rate,
        predicted_rate,
        difference_pct,
        is_significant,
        difference_pct is null as is_suppressed,
        delivery_id,
        source_row

    from latest

)

select * from final
