{#- The codes whose events count for the partnership being reported: its own code (a CSP code,
    or a district code when no district lookup is loaded) and every district the lookups place
    in it (int_districts_partnered). A subquery for `la_code in {{ partnership_area_codes() }}`:
    a partnership of several districts gets every district's events, a partnership of one
    district configured by its code gets that district's, as before. -#}
{% macro partnership_area_codes() -%}
    (
        select {{ partnership_la_code() }} as la_code
        union
        select la_code from {{ ref('int_districts_partnered') }}
        where partnership_code = {{ partnership_la_code() }}
    )
{%- endmacro %}
