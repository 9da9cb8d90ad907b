{#- Incremental, like stg_police__crimes: a new month's files touch a few hundred thousand of
    ten million crimes, and rebuilding every row was the largest part of a new month's build
    (BENCHMARKS.md). A run recomputes the crimes whose latest row may have changed since the
    last run, and those a changed reference list now places or classifies differently. The
    post-hooks then drop what may no longer count: crimes now cancelled, and rows of a
    delivery a later one replaced that were not recomputed because their crime is gone. -#}
{{ config(
    materialized='incremental',
    unique_key='crime_reference',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ delete_rows_of_deliveries_not_current() }}",
        "delete from {{ this }} where crime_reference in (select crime_reference from "
        ~ "{{ ref('stg_police__crimes') }} where is_cancelled)",
        {"sql": "{{ duckdb_checkpoint() }}", "transaction": false},
    ],
) }}

-- Read only by an incremental run's queries below, which dbt does not see when it parses:
-- depends_on: {{ ref('stg_csp__lsoa_lookup') }}
-- depends_on: {{ ref('ho_offence_classes') }}
-- depends_on: {{ source('raw', 'police_crime') }}

with

{% if is_incremental() %}
{{ require_columns(this, ['delivery_id', 'crime_reference', 'is_force_wide', 'la_code',
                          'lsoa_code', 'ho_class', 'category', 'is_ppv', 'location_type']) }}
{#- Crimes to recompute for a reason other than a new delivery. Usually there are none, and
    then the query below leaves them out: DuckDB builds its hash table for "crime_reference in
    (...)" on the ten (or sixty-five) million crimes, however few are in the list, which took
    4.5 s at national size even for an empty list. -#}
{% set recomputed_otherwise %}
    -- Crimes of a delivery replaced since the last run: their latest row may now come from an
    -- older delivery, or they may be gone. Read from the raw rows: such a crime may not be in
    -- this table (its replaced row was cancelled) and yet count now.
    select crime_reference from {{ source('raw', 'police_crime') }}
    where delivery_id in (
        select delivery_id from {{ ref('stg_csp__deliveries') }}
        where superseded_by > (select coalesce(max(delivery_id), 0) from {{ this }})
    )

    union

    -- Crimes a new LSOA lookup places in another authority. Cheap: every row is probed
    -- against a lookup of a few thousand LSOAs, and nothing is written unless one moves.
    select crimes.crime_reference from {{ this }} as crimes
    left join {{ ref('stg_csp__lsoa_lookup') }} as lookup
        on crimes.lsoa_code = lookup.lsoa_code
    where crimes.is_force_wide and crimes.la_code is distinct from lookup.la_code

    union

    -- Crimes a changed offence class list puts in another category.
    select crimes.crime_reference from {{ this }} as crimes
    left join {{ ref('ho_offence_classes') }} as offence_classes
        on crimes.ho_class = offence_classes.ho_class
    where crimes.category is distinct from offence_classes.category
        or crimes.is_ppv is distinct from
            ({{ is_ppv('offence_classes.violence_with_injury', 'crimes.location_type') }})
{% endset %}
{% set any_recomputed_otherwise = run_query(
    'select exists (' ~ recomputed_otherwise ~ ')').columns[0].values()[0] %}

last_run as (

    -- The latest delivery this table holds a row of. Every delivery up to it was staged by an
    -- earlier run; later ones may not have been. (A delivery whose crimes were all cancelled
    -- leaves no row, so its crimes are looked at again next time: harmless.)
    select coalesce(max(delivery_id), 0) as delivery_id from {{ this }}

),

deliveries_since as (

    select delivery_id from {{ ref('stg_csp__deliveries') }}
    where delivery_id > (select delivery_id from last_run)

),

{% if any_recomputed_otherwise %}
affected_otherwise as (

    {{ recomputed_otherwise }}

),
{% endif %}
{% endif %}

crimes as (

    select * from {{ ref('int_crimes_classified') }}
    where not is_cancelled
    {% if is_incremental() %}
        -- Crimes whose latest row now comes from a new delivery, found by delivery: the
        -- table's rows are in delivery order, so DuckDB skips the rest by their zone maps.
        and (
            delivery_id in (select delivery_id from deliveries_since)
            {% if any_recomputed_otherwise %}
            or crime_reference in (select crime_reference from affected_otherwise)
            {% endif %}
        )
    {% endif %}

),

quarters as (

    select * from {{ ref('int_fiscal_quarters_spined') }}

),

final as (

    select
        crimes.la_code,
        crimes.crime_reference,
        crimes.recorded_date,
        quarters.fiscal_quarter,
        crimes.offence_date,
        crimes.ho_class,
        crimes.category,
        crimes.location_type,
        crimes.is_ppv,
        crimes.is_domestic_abuse,
        crimes.is_knife_or_firearm,
        crimes.victim_age,
        crimes.lsoa_code,
        crimes.ward,
        crimes.sector,
        crimes.is_force_wide,
        crimes.delivery_id

    from crimes
    left join quarters
        on crimes.quarter_start = quarters.quarter_start

)

select * from final
