{#- Published percentages carry one decimal place. Rounding goes through numeric because
    Postgres has no round(double precision, int), and numeric rounds half away from zero on
    both adapters. -#}
{% macro round_1dp(expression) -%}
    {{ return(adapter.dispatch('round_1dp', 'csp')(expression)) }}
{%- endmacro %}

{% macro default__round_1dp(expression) -%}
    cast(round(cast({{ expression }} as numeric(38, 10)), 1) as double precision)
{%- endmacro %}

{% macro as_double(expression) -%}
    cast({{ expression }} as double precision)
{%- endmacro %}

{#- An indicator event's numerator, denominator and value, as int_indicator_events_unioned
    takes them: a count (no denominator) is its own value; a rate's value is left to the
    quarter's aggregation, which divides the sums. -#}
{% macro event_measures(numerator, denominator) -%}
    {{ as_double(numerator) }} as numerator,
        {{ as_double(denominator) }} as denominator,
        {{ as_double('case when ' ~ denominator ~ ' is null then ' ~ numerator ~ ' end') }} as value
{%- endmacro %}
