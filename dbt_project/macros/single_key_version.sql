{% test single_key_version(model, column_name) %}

-- Tokens made by two keys never match, so one person would be counted twice: a model must
-- hold tokens of one key version only. Fails with one row per version found.
with

versions as (

    select {{ column_name }} as key_version, count(*) as tokens
    from {{ model }}
    group by {{ column_name }}

)

select * from versions
where (select count(*) from versions) > 1

{% endtest %}
