{#- An incremental model's probes read columns of the table an earlier run left. A table built
    by an earlier version of this project may lack them: say how to rebuild it, rather than
    fail on a missing column. -#}
{% macro require_columns(relation, columns) -%}
    {%- if execute -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name')
                          | map('lower') | list -%}
        {%- set missing = columns | reject('in', present) | list -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                relation ~ " was built by an earlier version of csp-warehouse and lacks "
                ~ missing | join(', ') ~ ": rebuild it with `csp build --full-refresh`.") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
