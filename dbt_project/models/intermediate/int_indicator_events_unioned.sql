{#- Every counted event or contribution of every feed. weight is the cohort a rate is of
    (the MoJ table's offenders), so that the rates of a partnership's districts can be
    combined; null for the other feeds. -#}
{{ config(materialized='view') }}
{%- set weights = {'int_reoffending_rates_selected': 'offenders'} -%}
{%- set event_models = [
    'int_crimes_counted',
    'int_treatment_episodes_counted',
    'int_idva_cases_counted',
    'int_reoffending_rates_selected',
    'int_partner_returns_selected',
    'int_police_uk_records_counted',
] -%}

with

{% for event_model in event_models %}
{{ event_model }} as (

    select
        indicator_code,
        la_code,
        quarter_start,
        numerator,
        denominator,
        value,
        {{ weights.get(event_model, 'cast(null as integer)') }} as weight,
        record_key,
        delivery_id

    from {{ ref(event_model) }}

),

{% endfor %}
unioned as (

    {% for event_model in event_models %}
    select * from {{ event_model }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select * from unioned

)

select * from final
