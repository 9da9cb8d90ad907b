{#- Marts land in the target schema (analysts query fct_indicator_quarter unqualified on
    DuckDB); a custom schema (staging, intermediate, seeds) is used as written, not prefixed. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
