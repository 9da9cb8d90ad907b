{#- Financial quarters (Apr-Jun = Q1) from 2000/01 to 2049/50: calendar quarters line up
    with financial quarters, only the year and the number shift. -#}
with

numbers as (

    {{ dbt.generate_series(200) }}

),

quarters as (

    select
        {{ add_months("cast('2000-04-01' as date)", '3 * (generated_number - 1)') }} as quarter_start

    from numbers

),

numbered as (

    select
        quarter_start,
        {{ add_days(add_months('quarter_start', 3), -1) }} as quarter_end,
        cast(extract(year from quarter_start) as integer)
            - case when extract(month from quarter_start) < 4 then 1 else 0 end as fy_start_year,
        case cast(extract(month from quarter_start) as integer)
            when 4 then 1
            when 7 then 2
            when 10 then 3
            else 4
        end as quarter_number

    from quarters

),

final as (

    select
        quarter_start,
        quarter_end,
        fy_start_year,
        quarter_number,
        cast(fy_start_year as {{ dbt.type_string() }}) || '/'
            || lpad(cast((fy_start_year + 1) % 100 as {{ dbt.type_string() }}), 2, '0')
            as financial_year,
        cast(fy_start_year as {{ dbt.type_string() }}) || '/'
            || lpad(cast((fy_start_year + 1) % 100 as {{ dbt.type_string() }}), 2, '0')
            || ' Q' || cast(quarter_number as {{ dbt.type_string() }}) as fiscal_quarter,
        fy_start_year * 10 + quarter_number as quarter_key

    from numbered

)

select * from final
