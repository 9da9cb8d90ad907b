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

{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
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

{#- The start and end of a feed's delivery period inside a financial quarter: the quarter
    itself for quarterly feeds, or the month at `month_offset` (0-2) for monthly ones.
    Shared by the calendar models so both cut periods the same way. -#}
{% macro feed_period_bounds(cadence, quarter_start, quarter_end, month_offset) -%}
        {{ add_months(quarter_start, month_offset) }} as period_start,
        case
            when {{ cadence }} = 'monthly'
                then {{ add_days(add_months(quarter_start, month_offset ~ ' + 1'), -1) }}
            else {{ quarter_end }}
        end as period_end
{%- endmacro %}

{#- When a period ending `period_end` is due: the end of the month `due_months` months after
    the one it ends in (when `due_months` is above 0; police.uk publishes a month by the end of
    the second month after it, core/feeds/police_uk.yml), then `due_days` days more.
    One rule for the calendar models and CalendarEntry.due_date (ingest/warehouse.py). -#}
{% macro feed_due_date(period_end, due_months, due_days) -%}
    case
        when coalesce({{ due_months }}, 0) > 0
            then {{ add_days(add_days(add_months(month_start(period_end),
                                                 'coalesce(' ~ due_months ~ ', 0) + 1'), -1),
                             due_days) }}
        else {{ add_days(period_end, due_days) }}
    end
{%- endmacro %}
