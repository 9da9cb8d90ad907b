{#- 95% (or any z) confidence limits of a count by Byar's approximation to the Poisson
    distribution, as Public Health England's Fingertips computes them for crude rates:
    lower = O (1 - 1/(9O) - z/(3 sqrt O))^3, 0 when O is 0;
    upper = (O+1) (1 - 1/(9(O+1)) + z/(3 sqrt(O+1)))^3.
    Divide by the population (and multiply by 1000) for the limits of a rate per 1,000.
    Doubles throughout: Postgres divides integers as integers. A negative "count" (no count at
    all) has no limits: null, rather than the square root of a negative number. -#}
{% macro byars_lower(count, z=1.959963984540054) -%}
    case
        when {{ count }} is null or {{ count }} < 0 then null
        when {{ count }} = 0 then {{ as_double('0') }}
        else {{ as_double(count) }} * power(
            1.0 - 1.0 / (9.0 * {{ as_double(count) }})
                - {{ z }} / (3.0 * sqrt({{ as_double(count) }})), 3)
    end
{%- endmacro %}

{% macro byars_upper(count, z=1.959963984540054) -%}
    case
        when {{ count }} is null or {{ count }} < 0 then null
        else ({{ as_double(count) }} + 1.0) * power(
            1.0 - 1.0 / (9.0 * ({{ as_double(count) }} + 1.0))
                + {{ z }} / (3.0 * sqrt({{ as_double(count) }} + 1.0)), 3)
    end
{%- endmacro %}
