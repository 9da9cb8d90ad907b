{#- Partner returns: latest row per (indicator, quarter) over current deliveries. A return
    may restate an earlier quarter; the restatement in the later delivery wins. -#}
with

source as (

    select * from {{ source('raw', 'partner_returns') }}

),

renamed as (

    select
        cast(delivery_id as integer) as delivery_id,
        cast(source_row as integer) as source_row,
        trim(indicator_code) as indicator_code,
        trim(period_label) as fiscal_quarter,
        cast(numerator as double precision) as numerator,
        cast(denominator as double precision) as denominator,
        cast(value as double precision) as returned_value,
        note

    from source

),

latest as (

    {{ latest_current_rows('renamed', ['delivered_rows.indicator_code', 'delivered_rows.fiscal_quarter']) }}

),

final as (

    select
        indicator_code || ' ' || fiscal_quarter as return_key,
        indicator_code,
        fiscal_quarter,
        numerator,
        denominator,
        returned_value,
        note,
        delivery_la_code as la_code,
        delivery_id,
        source_row

    from latest

)

select * from final
