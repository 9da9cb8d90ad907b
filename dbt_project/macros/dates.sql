{#- The run's "today": the pipeline passes as_of so a past quarter rebuilds exactly as it stood. -#}
{% macro as_of_date() -%}
    {%- set as_of = var('as_of', '') -%}
    {%- if as_of -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        current_date
    {%- endif -%}
{%- endmacro %}

{#- date_trunc returns a timestamp on Postgres; every period boundary here is a date. -#}
{% macro quarter_start(expression) -%}
    cast({{ dbt.date_trunc('quarter', expression) }} as date)
{%- endmacro %}

{% macro add_days(expression, days) -%}
    cast({{ dbt.dateadd('day', days, expression) }} as date)
{%- endmacro %}

{% macro add_months(expression, months) -%}
    cast({{ dbt.dateadd('month', months, expression) }} as date)
{%- endmacro %}

{#- Monthly periods are labelled like the deliveries' period_label: 2014-07. -#}
{% macro month_label(expression) -%}
    substr(cast({{ expression }} as {{ dbt.type_string() }}), 1, 7)
{%- endmacro %}

{% macro date_text(expression) -%}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}
