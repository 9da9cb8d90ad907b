{#- The partnership being reported: the `la_code` var when the pipeline passes one, else the
    configured partnership (raw.partnership). Never a built-in default: nothing here may
    assume one local authority. -#}
{% macro partnership_la_code() -%}
    {%- if var('la_code', '') -%}
        '{{ var("la_code") }}'
    {%- else -%}
        (select max(la_code) from {{ source('raw', 'partnership') }})
    {%- endif -%}
{%- endmacro %}
