{#- The feed calendar is judged in Python (core/feed_status.py): these macros only
    word and count its answers, they never judge a due date. -#}

{#- A period (or a police.uk force-month) judged for a quarter's data status: overdue when it
    has not arrived and core/feed_status.py found it past due; its absence note, e.g.
    `police_crime 2014-11 not received (due 2014-12-15)`, or `not yet received` on and before
    the due date. One rule for int_feed_quarters_statused and int_police_uk_quarters_statused. -#}
{% macro feed_absence(subject, is_delivered, due_date, is_past_due) -%}
        not ({{ is_delivered }}) and ({{ is_past_due }}) as is_overdue,
        {{ subject }}
            || case when {{ is_past_due }} then ' not received' else ' not yet received' end
            || ' (due ' || {{ date_text(due_date) }} || ')' as absence_note
{%- endmacro %}

{#- Fails when raw.feed_status or raw.feed_periods were judged on another day than this build's
    as_of: every build rewrites them before dbt runs (ingest/warehouse.py, write_feed_status),
    so a failure means dbt ran without that step. -#}
{% test judged_on_as_of(model, column_name) %}

select {{ column_name }} as judged_on
from {{ model }}
where {{ column_name }} <> {{ as_of_date() }}

{% endtest %}
