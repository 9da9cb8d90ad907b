{#- Public place violence with injury: an offence class flagged violence_with_injury, not in a
    dwelling (docs/indicators.md, PV_PPV). One definition for the classification and for the check
    that finds crimes a changed class list reclassifies (fct_crime). -#}
{% macro is_ppv(violence_with_injury, location_type) -%}
    coalesce({{ violence_with_injury }}, false) and {{ location_type }} <> 'Dwelling'
{%- endmacro %}
