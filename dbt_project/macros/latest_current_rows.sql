{#- Latest-row-wins over current deliveries (docs/feeds.md, "Common rules": revisions and
    record keys).
    Rows of a superseded or rejected delivery never count, even rows the later file omits;
    of the rest, per record key the row of the delivery for the latest period wins, ties
    broken by arrival order (delivery_id), then by source_row.
    `rows` is a CTE with delivery_id and source_row, one row per pair (a line of a delivered
    file); key expressions may use `delivered_rows.` (those rows; `rows` itself is a SQL
    keyword) and `deliveries.` (for a key that is the delivery's period).
    The winners are ranked on their keys alone, then their rows are fetched: ranking whole
    rows made DuckDB sort and spill every column of ten million crimes (18 s of a 37 s dbt
    run at medium scale, against 10 s this way; BENCHMARKS.md). -#}
{% macro latest_current_rows(rows, key_columns) -%}
    select
        delivered_rows.*,
        deliveries.period_start as delivery_period_start,
        deliveries.la_code as delivery_la_code,
        deliveries.partner as delivery_partner
    from {{ rows }} as delivered_rows
    inner join {{ ref('stg_csp__deliveries') }} as deliveries
        on delivered_rows.delivery_id = deliveries.delivery_id
    inner join (
        select delivery_id, source_row
        from (
            select
                delivered_rows.delivery_id,
                delivered_rows.source_row,
                row_number() over (
                    partition by {{ key_columns | join(', ') }}
                    order by deliveries.period_start desc, delivered_rows.delivery_id desc,
                        delivered_rows.source_row desc
                ) as latest_rank
            from {{ rows }} as delivered_rows
            inner join {{ ref('stg_csp__deliveries') }} as deliveries
                on delivered_rows.delivery_id = deliveries.delivery_id
            where deliveries.is_current
        ) as ranked
        where latest_rank = 1
    ) as latest
        on delivered_rows.delivery_id = latest.delivery_id
        and delivered_rows.source_row = latest.source_row
{%- endmacro %}

{#- A post-hook for an incremental model kept by latest_current_rows: drop the rows whose
    delivery is no longer current (a later one replaced it) and that no new row replaced. -#}
{% macro delete_rows_of_deliveries_not_current() -%}
    delete from {{ this }} where delivery_id not in (
        select delivery_id from {{ ref('stg_csp__deliveries') }} where is_current
    )
{%- endmacro %}
