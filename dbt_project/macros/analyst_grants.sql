{#- Pseudonymised identifiers (tokens, their key versions, and keys built from them) are
    never readable by analysts on Postgres: marts holding them grant SELECT column by column,
    every column but those. DuckDB has no roles: there the published copy and the exports
    leave them out (the same rule in Python: exports/publish.py, is_pseudonymised_identifier). -#}
{% macro is_pseudonymised_identifier(column_name) -%}
    {{ return(column_name.lower().endswith('_token')
              or '_token_' in column_name.lower()
              or column_name.lower() in var('pseudonymised_columns', ['episode_key'])) }}
{%- endmacro %}

{% macro grant_select_except_identifiers(role) -%}
    {{ return(adapter.dispatch('grant_select_except_identifiers', 'csp')(role)) }}
{%- endmacro %}

{% macro default__grant_select_except_identifiers(role) -%}
    select 1 as no_grants_here
{%- endmacro %}

{% macro postgres__grant_select_except_identifiers(role) -%}
    {%- set readable = [] -%}
    {%- for column in adapter.get_columns_in_relation(this) -%}
        {%- if not is_pseudonymised_identifier(column.name) -%}
            {%- do readable.append(adapter.quote(column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    revoke all on {{ this }} from {{ role }};
    grant select ({{ readable | join(', ') }}) on {{ this }} to {{ role }}
{%- endmacro %}
