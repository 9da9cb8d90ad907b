{#- Confidence limits of the indicators, as Public Health England's Fingertips computes them
    (docs/indicators.md, "Confidence intervals and significance"): the Wilson score interval
    for a proportion, Byar's approximation (macros byars_lower and byars_upper) for a count.

    z is the standard normal quantile of the two-sided level: 95% -> z of 0.975, 99.8% -> z of
    0.999. -#}
{% macro z_95() -%}
    1.959963984540054
{%- endmacro %}

{% macro z_99_8() -%}
    3.090232306167813
{%- endmacro %}

{#- Wilson score limits of the proportion numerator / denominator, as a proportion (0 to 1):
    (2O + z^2 -/+ z sqrt(z^2 + 4O(1 - O/n))) / (2(n + z^2)).
    Null unless 0 <= numerator <= denominator and denominator > 0: a "proportion" outside
    those bounds has no binomial interval. -#}
{% macro _wilson_limit(numerator, denominator, z, sign) -%}
    case
        when {{ numerator }} is null or {{ denominator }} is null then null
        when {{ denominator }} <= 0 or {{ numerator }} < 0 or {{ numerator }} > {{ denominator }}
            then null
        else (
            2.0 * {{ as_double(numerator) }} + {{ z }} * {{ z }}
            {{ sign }} {{ z }} * sqrt(
                {{ z }} * {{ z }} + 4.0 * {{ as_double(numerator) }}
                * (1.0 - {{ as_double(numerator) }} / {{ as_double(denominator) }})
            )
        ) / (2.0 * ({{ as_double(denominator) }} + {{ z }} * {{ z }}))
    end
{%- endmacro %}

{% macro wilson_lower(numerator, denominator, z=z_95()) -%}
    {{ _wilson_limit(numerator, denominator, z, '-') }}
{%- endmacro %}

{% macro wilson_upper(numerator, denominator, z=z_95()) -%}
    {{ _wilson_limit(numerator, denominator, z, '+') }}
{%- endmacro %}

{#- One limit ('lower' or 'upper') of an indicator's figure, in the figure's own unit: Wilson
    for a percent (x 100, to one decimal place as the percentage itself is published), Byar's
    for a count; null for any other unit (the MoJ difference percent_diff) and whenever the
    figure is null. -#}
{% macro indicator_limit(bound, unit, figure, numerator, denominator, z) -%}
    case
        when {{ figure }} is null then null
        when {{ unit }} = 'percent' then {{ round_1dp(
            '100.0 * ' ~ (wilson_lower(numerator, denominator, z) if bound == 'lower'
                          else wilson_upper(numerator, denominator, z))) }}
        when {{ unit }} = 'count' then {{ byars_lower(figure, z) if bound == 'lower'
                                          else byars_upper(figure, z) }}
    end
{%- endmacro %}

{#- Whether a figure with 95% limits lower..upper is significantly above or below a benchmark
    value (a comparator group's figure), as Fingertips compares an area with England: only
    when the benchmark lies outside the figure's interval. Null when any part is missing. -#}
{% macro compared_with_benchmark(lower, upper, benchmark) -%}
    case
        when {{ lower }} is null or {{ upper }} is null or {{ benchmark }} is null then null
        when {{ lower }} > {{ benchmark }} then 'significantly higher'
        when {{ upper }} < {{ benchmark }} then 'significantly lower'
        else 'not significantly different'
    end
{%- endmacro %}
