{#- Latest-row-wins over current deliveries (SPEC.md "revisions" and "record keys").
    Rows of a superseded or rejected delivery never count, even rows the later file omits;
    of the rest, per record key the row of the delivery for the latest period wins, ties
    broken by arrival order (delivery_id), then by source_row.
    `rows` is a CTE with delivery_id and source_row; key expressions may use `rows.` and
    `deliveries.` (for a key that is the delivery's period). -#}
{% macro latest_current_rows(rows, key_columns) -%}
    select *
    from (
        select
            rows.*,
            deliveries.period_start as delivery_period_start,
            deliveries.la_code as delivery_la_code,
            deliveries.partner as delivery_partner,
            row_number() over (
                partition by {{ key_columns | join(', ') }}
                order by deliveries.period_start desc, rows.delivery_id desc, rows.source_row desc
            ) as latest_rank
        from {{ rows }} as rows
        inner join {{ ref('stg_csp__deliveries') }} as deliveries
            on rows.delivery_id = deliveries.delivery_id
        where deliveries.is_current
    ) as ranked
    where latest_rank = 1
{%- endmacro %}
