"""DDL of the raw schema as ingest/RAW_TABLES.md describes it, for dbt test fixtures.

The ingest code will own the real DDL; this copy follows RAW_TABLES.md column for column
(text->varchar, date->date, integer->integer, number->double, flags->boolean).
"""

RAW_DDL = {
    "deliveries": """
        delivery_id integer, feed varchar, partner varchar, file_name varchar, sha256 varchar,
        period_label varchar, period_start date, period_end date, row_count integer,
        received_at timestamp, status varchar, rejection_reason varchar, la_code varchar
    """,
    "police_crime": """
        delivery_id integer, source_row integer, crime_reference varchar, recorded_date date,
        offence_date date, ho_class varchar, offence_description varchar, location_type varchar,
        da_flag boolean, knife_flag boolean, firearm_flag boolean, status varchar,
        victim_age integer, lsoa_code varchar, ward varchar, sector varchar
    """,
    "rny_treatment": """
        delivery_id integer, source_row integer, client_token varchar, age_band varchar,
        sex varchar, referral_date date, referral_source varchar, substance varchar,
        class_a_positive boolean, treatment_start_date date, discharge_date date,
        discharge_reason varchar, iom_cohort boolean, required_assessment varchar,
        mental_health_referral boolean
    """,
    "idva_cases": """
        delivery_id integer, source_row integer, case_token varchar, referral_date date,
        referral_source varchar, risk_level varchar, dash_score integer, marac_referral boolean,
        repeat_victim boolean, children_in_household integer, pregnant varchar,
        victim_gender varchar, victim_age_band varchar, case_closed_date date,
        closure_reason varchar
    """,
    "idva_screening": """
        delivery_id integer, source_row integer, screening_month date, incidents_screened integer
    """,
    "moj_reoffending": """
        delivery_id integer, source_row integer, la_code varchar, local_authority varchar,
        probation_trust varchar, offenders integer, actual_rate double precision, predicted_rate double precision,
        difference_pct double precision, significant boolean
    """,
    "partnership": "la_code varchar, name varchar",
    "feed_calendar": """
        feed varchar, partner varchar, cadence varchar, due_days_after_period_end integer,
        calendar_start date, suspended_since date, suspension_reason varchar
    """,
}


def create_raw_tables(con) -> None:
    """Create schema raw and every raw table on an open DuckDB connection."""
    con.execute("create schema if not exists raw")
    for table, columns in RAW_DDL.items():
        con.execute(f"create or replace table raw.{table} ({columns})")


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Insert positional rows into raw.<table>."""
    if not rows:
        return
    placeholders = ", ".join("?" for _ in rows[0])
    con.executemany(f"insert into raw.{table} values ({placeholders})", rows)
