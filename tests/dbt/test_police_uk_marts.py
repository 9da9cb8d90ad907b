"""data.police.uk street-level records through dbt: a small scenario of its own (not the shared
one of dbt_scenario.py), built once, checked against answers worked out by hand.

Two forces. Avon and Somerset polices the Somerset partnership (CSP E22000369: four districts,
LSOAs in three of them; the configured partnership), Bristol (a one-district CSP) and North
Somerset (a district only the LSOA lookup knows: a partnership of its own). Devon and Cornwall
polices Torbay, and one of its January records lies in Somerset (a border record).

Files (police.uk is due at the end of the second month after the month; as of 2018-09-15):
  avon-and-somerset   2018-01, 2018-02 (sent twice: the second replaces the first), 2018-03,
                      2018-04, 2018-05; 2018-06 never arrives (due 2018-08-31: missing)
  devon-and-cornwall  2018-01 .. 2018-06
Reported quarters: 2017/18 Q4 (complete), 2018/19 Q1 (avon-and-somerset 2018-06 missing),
2018/19 Q2 (nothing yet, not yet due: pending).

Population (ONS mid-year estimates 2017 and 2018): Somerset 1000 then 1100, Bristol 5000,
North Somerset 1000, Torbay 500. A quarter uses the latest estimate whose 30 June is not after
its end: 2017/18 Q4 (to 2018-03-31) the 2017 one, 2018/19 Q1 (to 2018-06-30) the 2018 one.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import duckdb
import pytest
from dbt_command import REPO, dbt_build_command, dbt_env
from dbt_raw_tables import create_raw_tables, insert_rows, judge_feeds

D = dt.date.fromisoformat

AS_OF = "2018-09-15"
SOMERSET, BRISTOL, TORBAY = "E22000369", "E22000900", "E22000901"
NORTH_SOMERSET = "E06000024"
AS, DC = "avon-and-somerset", "devon-and-cornwall"
Q4, Q1, Q2 = "2017/18 Q4", "2018/19 Q1", "2018/19 Q2"

DISTRICTS = [
    # la_code, la_name, csp_code, csp_name, pfa_code, pfa_name
    ("E07000187", "Mendip", SOMERSET, "Somerset", "E23000036", "Avon and Somerset"),
    ("E07000188", "Sedgemoor", SOMERSET, "Somerset", "E23000036", "Avon and Somerset"),
    ("E07000189", "South Somerset", SOMERSET, "Somerset", "E23000036", "Avon and Somerset"),
    (
        "E07000246",
        "Somerset West and Taunton",
        SOMERSET,
        "Somerset",
        "E23000036",
        "Avon and Somerset",
    ),
    ("E06000023", "Bristol, City of", BRISTOL, "Bristol", "E23000036", "Avon and Somerset"),
    ("E06000027", "Torbay", TORBAY, "Torbay", "E23000035", "Devon and Cornwall"),
]

# Made-up LSOA codes. ONS lookups give no force; North Somerset's row names its force.
LSOAS = [
    # lsoa_code, la_code, la_name, force
    ("E01900001", "E07000187", "Mendip", None),
    ("E01900002", "E07000188", "Sedgemoor", None),
    ("E01900003", "E07000189", "South Somerset", None),
    ("E01900011", "E06000023", "Bristol, City of", None),
    ("E01900021", "E06000027", "Torbay", None),
    ("E01900031", NORTH_SOMERSET, "North Somerset", AS),
]

POPULATION = [
    # lsoa_code, estimate_year, population
    ("E01900001", 2017, 400),
    ("E01900002", 2017, 300),
    ("E01900003", 2017, 300),
    ("E01900001", 2018, 420),
    ("E01900002", 2018, 330),
    ("E01900003", 2018, 350),
    ("E01900011", 2017, 5000),
    ("E01900011", 2018, 5000),
    ("E01900021", 2017, 500),
    ("E01900021", 2018, 500),
    ("E01900031", 2017, 1000),
    ("E01900031", 2018, 1000),
    # An LSOA the lookup does not place counts for no partnership.
    ("E01999999", 2017, 700),
]

ASB = "Anti-social behaviour"

# (force, month, status, records); a record is (crime_id, lsoa_code, crime_type).
FILES = [
    (
        AS,
        "2018-01",
        "loaded",
        [
            ("c1", "E01900001", "Burglary"),
            ("c1", "E01900001", "Burglary"),  # a repeated crime ID is two records
            ("", "E01900002", ASB),  # anti-social behaviour has no crime ID
            ("", "E01900002", ASB),
            ("c3", "E01900003", "Vehicle crime"),
            ("c4", "E01900011", "Violence and sexual offences"),  # Bristol
            ("c5", "", "Shoplifting"),  # no location
            ("c6", "E01999999", "Drugs"),  # an LSOA the lookup does not know
            ("c7", "E01900031", "Burglary"),  # North Somerset
        ],
    ),
    # Sent twice: these three burglaries are only in the first file, which the second replaces.
    (
        AS,
        "2018-02",
        "superseded",
        [
            ("c8", "E01900001", "Burglary"),
            ("c9", "E01900001", "Burglary"),
            ("c10", "E01900001", "Burglary"),
        ],
    ),
    (
        AS,
        "2018-02",
        "loaded",
        [
            ("c11", "E01900001", "Criminal damage and arson"),
            ("c12", "E01900002", "Other theft"),
            ("", "E01900003", ASB),
            ("c13", "E01900011", "Robbery"),
            ("c14", "E01900011", "Robbery"),
        ],
    ),
    (
        AS,
        "2018-03",
        "loaded",
        [
            ("c15", "E01900001", "Public order"),
            ("c16", "E01900002", "Public order"),
            ("c17", "E01900003", "Shoplifting"),
            ("c19", "E01900002", "Theft from the person"),
            ("c18", "E01900031", "Burglary"),
            ("", None, ASB),  # no location, written as null
        ],
    ),
    (
        AS,
        "2018-04",
        "loaded",
        [
            ("c20", "E01900001", "Burglary"),
            ("", "E01900001", ASB),
            ("c21", "E01900011", "Burglary"),
        ],
    ),
    (
        AS,
        "2018-05",
        "loaded",
        [
            ("c22", "E01900002", "Drugs"),
        ],
    ),
    (
        DC,
        "2018-01",
        "loaded",
        [
            ("d1", "E01900021", "Violence and sexual offences"),
            ("d2", "E01900003", "Burglary"),  # across the border, in Somerset
            ("d3", " ", "Other crime"),  # no location (blank)
        ],
    ),
    (DC, "2018-02", "loaded", [("d4", "E01900021", "Bicycle theft")]),
    (
        DC,
        "2018-03",
        "loaded",
        [
            ("d5", "E01900021", "Drugs"),
            ("d6", "E01999998", "Drugs"),  # unknown LSOA
        ],
    ),
    (DC, "2018-04", "loaded", [("d7", "E01900021", "Burglary")]),
    (DC, "2018-05", "loaded", [("d8", "E01900021", "Burglary")]),
    (DC, "2018-06", "loaded", [("d9", "E01900021", "Burglary")]),
]

MOJ_ROWS = [
    # la_code, local_authority, probation_trust, offenders, actual, predicted, difference, sig
    ("E07000187", "Mendip", "Avon and Somerset", 100, 30.0, 40.0, -25.0, True),
    ("E07000188", "Sedgemoor", "Avon and Somerset", 300, 41.2, 44.0, -6.4, False),
    ("E06000023", "Bristol, City of", "Avon and Somerset", 900, 35.0, 35.0, 0.0, False),
]

FORCE_NAMES = {AS: "Avon and Somerset Constabulary", DC: "Devon & Cornwall Police"}
DELIVERY_IDS: dict[tuple[str, str, str], int] = {}


def _month_end(start: dt.date) -> dt.date:
    following = dt.date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def load(con) -> None:
    create_raw_tables(con)
    insert_rows(con, "partnership", [(SOMERSET, "Somerset")])
    con.execute(
        "insert into raw.feed_calendar (feed, partner, cadence, due_days_after_period_end,"
        " due_months_after_period_end) values ('police_uk', 'data.police.uk', 'monthly', 0, 2),"
        " ('moj_reoffending', 'Ministry of Justice', 'quarterly', 150, 0)"
    )
    insert_rows(con, "district_lookup", DISTRICTS)
    insert_rows(con, "lsoa_lookup", LSOAS)
    insert_rows(con, "lsoa_population", POPULATION)
    deliveries, street = [], []
    for delivery_id, (force, month, status, records) in enumerate(FILES, 1):
        DELIVERY_IDS[(force, month, status)] = delivery_id
        start = D(month + "-01")
        deliveries.append(
            (
                delivery_id,
                "police_uk",
                force,
                f"{month}-{force}-street.csv",
                f"sha{delivery_id}",
                month,
                start,
                _month_end(start),
                len(records),
                dt.datetime(2018, 3, 1) + dt.timedelta(days=delivery_id),
                status,
                None,
                SOMERSET,
            )
        )
        for row, (crime_id, lsoa, crime_type) in enumerate(records, 2):
            lsoa_name = None if not lsoa or not lsoa.strip() else f"Place {lsoa[-3:]}"
            street.append(
                (
                    delivery_id,
                    row,
                    crime_id,
                    month,
                    FORCE_NAMES[force],
                    FORCE_NAMES[force],
                    -2.7,
                    51.1,
                    lsoa,
                    lsoa_name,
                    crime_type,
                    "Under investigation",
                )
            )
    # MoJ's table is by district: Somerset's two districts in it, to be combined. Named by
    # the quarter's last month and labelled by the quarter, as the ingest labels it
    # (core/feeds/moj_reoffending.yml): the feed status knows a period by its label.
    moj_id = len(FILES) + 1
    deliveries.append(
        (
            moj_id,
            "moj_reoffending",
            "Ministry of Justice",
            "moj_reoffending_2018-03.csv",
            "sha-moj",
            "2017/18 Q4",
            D("2018-01-01"),
            D("2018-03-31"),
            len(MOJ_ROWS),
            dt.datetime(2018, 8, 1),
            "loaded",
            None,
            SOMERSET,
        )
    )
    insert_rows(
        con, "moj_reoffending", [(moj_id, row, *values) for row, values in enumerate(MOJ_ROWS, 5)]
    )
    insert_rows(con, "deliveries", deliveries)
    insert_rows(con, "police_uk_street", street)


class Warehouse:
    def __init__(self, path: Path):
        self.path = path

    def rows(self, sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, params).fetchall()

    def dicts(self, sql: str, *params) -> list[dict]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            cursor = con.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def indicator(self, code: str, quarter: str) -> dict:
        rows = self.dicts(
            "select * from main.fct_indicator_quarter "
            "where indicator_code = ? and fiscal_quarter = ?",
            code,
            quarter,
        )
        assert len(rows) == 1, (code, quarter, rows)
        return rows[0]


@pytest.fixture(scope="module")
def police_uk(tmp_path_factory) -> Warehouse:
    tmp = tmp_path_factory.mktemp("dbt_police_uk")
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load(con)
        judge_feeds(con, AS_OF)
    result = subprocess.run(
        dbt_build_command(tmp, AS_OF, SOMERSET),
        cwd=REPO,
        env=dbt_env(warehouse, tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    return Warehouse(warehouse)


def sig3(x: float) -> float:
    """x to three significant figures."""
    return float(f"{x:.3g}")


# --- staging and location ------------------------------------------------------------------


def test_only_current_files_count(police_uk):
    # 33 rows in current files; the replaced February file's three burglaries are gone.
    assert police_uk.rows("select count(*) from staging.stg_police_uk__street_records") == [(33,)]
    superseded = DELIVERY_IDS[(AS, "2018-02", "superseded")]
    assert police_uk.rows(
        "select count(*) from staging.stg_police_uk__street_records where delivery_id = ?",
        superseded,
    ) == [(0,)]
    # A repeated crime ID is two records; anti-social behaviour has no crime ID.
    assert police_uk.rows(
        "select count(*) from staging.stg_police_uk__street_records where crime_id = 'c1'"
    ) == [(2,)]
    assert police_uk.rows(
        "select count(*), count(crime_id), bool_and(is_anti_social_behaviour) "
        "from staging.stg_police_uk__street_records where crime_type = ?",
        ASB,
    ) == [(5, 0, True)]


def test_districts_take_their_partnership(police_uk):
    assert police_uk.rows(
        "select la_code, partnership_code, force from intermediate.int_districts_partnered "
        "order by la_code"
    ) == [
        ("E06000023", BRISTOL, AS),
        (NORTH_SOMERSET, NORTH_SOMERSET, AS),  # only the LSOA lookup knows it
        ("E06000027", TORBAY, DC),
        ("E07000187", SOMERSET, AS),
        ("E07000188", SOMERSET, AS),
        ("E07000189", SOMERSET, AS),
        ("E07000246", SOMERSET, AS),
    ]


# --- marts of records ------------------------------------------------------------------------


def test_month_counts_by_partnership(police_uk):
    rows = police_uk.rows(
        "select partnership_code, strftime(month, '%Y-%m'), crime_type, records "
        "from fct_police_uk_month order by 1, 2, 3"
    )
    assert rows == [
        (NORTH_SOMERSET, "2018-01", "Burglary", 1),
        (NORTH_SOMERSET, "2018-03", "Burglary", 1),
        (SOMERSET, "2018-01", ASB, 2),
        (SOMERSET, "2018-01", "Burglary", 3),  # c1 twice, d2 from Devon and Cornwall
        (SOMERSET, "2018-01", "Vehicle crime", 1),
        (SOMERSET, "2018-02", ASB, 1),
        (SOMERSET, "2018-02", "Criminal damage and arson", 1),
        (SOMERSET, "2018-02", "Other theft", 1),  # not c8-c10: that file was replaced
        (SOMERSET, "2018-03", "Public order", 2),
        (SOMERSET, "2018-03", "Shoplifting", 1),
        (SOMERSET, "2018-03", "Theft from the person", 1),
        (SOMERSET, "2018-04", ASB, 1),
        (SOMERSET, "2018-04", "Burglary", 1),
        (SOMERSET, "2018-05", "Drugs", 1),
        (BRISTOL, "2018-01", "Violence and sexual offences", 1),
        (BRISTOL, "2018-02", "Robbery", 2),
        (BRISTOL, "2018-04", "Burglary", 1),
        (TORBAY, "2018-01", "Violence and sexual offences", 1),
        (TORBAY, "2018-02", "Bicycle theft", 1),
        (TORBAY, "2018-03", "Drugs", 1),
        (TORBAY, "2018-04", "Burglary", 1),
        (TORBAY, "2018-05", "Burglary", 1),
        (TORBAY, "2018-06", "Burglary", 1),
    ]


def test_force_month_accounts_for_every_record(police_uk):
    totals = police_uk.rows(
        "select force, strftime(month, '%Y-%m'), sum(records), sum(located_records), "
        "sum(no_location_records), sum(unknown_lsoa_records) "
        "from fct_police_uk_force_month group by 1, 2 order by 1, 2"
    )
    assert totals == [
        (AS, "2018-01", 9, 7, 1, 1),
        (AS, "2018-02", 5, 5, 0, 0),
        (AS, "2018-03", 6, 5, 1, 0),
        (AS, "2018-04", 3, 3, 0, 0),
        (AS, "2018-05", 1, 1, 0, 0),
        (DC, "2018-01", 3, 2, 1, 0),
        (DC, "2018-02", 1, 1, 0, 0),
        (DC, "2018-03", 2, 1, 0, 1),
        (DC, "2018-04", 1, 1, 0, 0),
        (DC, "2018-05", 1, 1, 0, 0),
        (DC, "2018-06", 1, 1, 0, 0),
    ]
    # Nothing dropped silently, row by row, and every current record is in the mart.
    assert police_uk.rows(
        "select count(*) from fct_police_uk_force_month "
        "where records <> located_records + no_location_records + unknown_lsoa_records"
    ) == [(0,)]
    assert police_uk.rows("select sum(records) from fct_police_uk_force_month") == [(33,)]
    assert police_uk.rows("select sum(records) from fct_police_uk_month") == [(28,)]


def test_unknown_lsoas_are_listed(police_uk):
    assert police_uk.rows(
        "select force, strftime(month, '%Y-%m'), lsoa_code, lsoa_name, records, "
        "first_source_row from fct_police_uk_unknown_lsoa order by force"
    ) == [
        (AS, "2018-01", "E01999999", "Place 999", 1, 9),
        (DC, "2018-03", "E01999998", "Place 998", 1, 3),
    ]


# --- partnerships and population ---------------------------------------------------------------


def test_dim_partnership(police_uk):
    rows = police_uk.rows(
        "select partnership_code, partnership_name, districts, district_count, force, "
        "force_name, pfa_code, population, population_year, is_configured, la_code, la_name "
        "from dim_partnership order by partnership_code"
    )
    assert rows == [
        (
            NORTH_SOMERSET,
            "North Somerset",
            NORTH_SOMERSET,
            1,
            AS,
            "Avon and Somerset",
            "E23000036",
            1000,
            2018,
            False,
            NORTH_SOMERSET,
            "North Somerset",
        ),
        (
            SOMERSET,
            "Somerset",
            "E07000187,E07000188,E07000189,E07000246",
            4,
            AS,
            "Avon and Somerset",
            "E23000036",
            1100,
            2018,
            True,
            SOMERSET,
            "Somerset",
        ),
        (
            BRISTOL,
            "Bristol",
            "E06000023",
            1,
            AS,
            "Avon and Somerset",
            "E23000036",
            5000,
            2018,
            False,
            BRISTOL,
            "Bristol",
        ),
        (
            TORBAY,
            "Torbay",
            "E06000027",
            1,
            DC,
            "Devon and Cornwall",
            "E23000035",
            500,
            2018,
            False,
            TORBAY,
            "Torbay",
        ),
    ]


def test_partnership_populations(police_uk):
    assert police_uk.rows(
        "select estimate_year, population, lsoas_counted "
        "from intermediate.int_partnership_populations_estimated "
        "where partnership_code = ? order by 1",
        SOMERSET,
    ) == [(2017, 1000, 3), (2018, 1100, 3)]


# --- indicators ----------------------------------------------------------------------------


def test_complete_quarter_is_published_with_rates(police_uk):
    total = police_uk.indicator("PC_TOTAL", Q4)
    # Somerset, January to March, every type but anti-social behaviour: c1 twice, c3, d2
    # (January); c11, c12 (February); c15, c16, c17, c19 (March).
    assert (total["data_status"], total["value"], total["status_note"]) == ("ok", 10, None)
    assert total["la_code"] == SOMERSET
    assert total["population"] == 1000  # the 2017 estimate
    assert total["rate_per_1000"] == pytest.approx(10.0)
    asb = police_uk.indicator("PC_ANTI_SOCIAL_BEHAVIOUR", Q4)
    assert (asb["data_status"], asb["value"]) == ("ok", 3)
    assert police_uk.indicator("PC_BURGLARY", Q4)["value"] == 3
    assert police_uk.indicator("PC_PUBLIC_ORDER", Q4)["value"] == 2


def test_byar_limits(police_uk):
    # A population of 1000 makes the rate limits per 1,000 the count's own limits.
    total = police_uk.indicator("PC_TOTAL", Q4)
    # O = 10. Byar's lower limit is 4.787 (PHE's exact Poisson limit, 4.795, differs in the
    # third figure); the upper, 18.39, agrees with PHE's.
    assert sig3(total["rate_lower_95"]) == 4.79
    assert total["rate_lower_95"] == pytest.approx(4.78745, abs=1e-4)
    assert sig3(total["rate_upper_95"]) == 18.4
    assert total["rate_upper_95"] == pytest.approx(18.3915, abs=1e-4)
    # O = 0: Somerset had no bicycle theft; the lower limit is 0.
    bicycles = police_uk.indicator("PC_BICYCLE_THEFT", Q4)
    assert (bicycles["data_status"], bicycles["value"], bicycles["rate_per_1000"]) == ("ok", 0, 0)
    assert bicycles["rate_lower_95"] == 0
    assert sig3(bicycles["rate_upper_95"]) == 3.67


def test_incomplete_quarter_names_the_missing_force_month(police_uk):
    # Somerset's own force never sent June (due 2018-08-31, before as_of); Devon and
    # Cornwall, which holds one of Somerset's records, sent every month.
    total = police_uk.indicator("PC_TOTAL", Q1)
    assert total["data_status"] == "missing"
    assert total["status_note"] == "avon-and-somerset 2018-06 not received (due 2018-08-31)"
    assert total["value"] is None and total["provisional_value"] == 2  # c20, c22
    assert total["population"] == 1100  # the 2018 estimate
    assert total["rate_per_1000"] is None and total["rate_lower_95"] is None
    assert police_uk.indicator("PC_ANTI_SOCIAL_BEHAVIOUR", Q1)["data_status"] == "missing"


def test_quarter_not_yet_due_is_pending(police_uk):
    row = police_uk.indicator("PC_TOTAL", Q2)
    assert row["data_status"] == "pending"
    assert row["status_note"].startswith(
        "avon-and-somerset 2018-07 not yet received (due 2018-09-30); "
        "avon-and-somerset 2018-08 not yet received (due 2018-10-31)"
    )
    assert "devon-and-cornwall 2018-09 not yet received (due 2018-11-30)" in row["status_note"]


def test_rates_only_for_police_uk_indicators(police_uk):
    assert police_uk.rows(
        "select count(*) from fct_indicator_quarter where indicator_code not like 'PC\\_%' "
        "escape '\\' and coalesce(population, rate_per_1000, rate_lower_95, rate_upper_95) "
        "is not null"
    ) == [(0,)]


# --- comparison within the force --------------------------------------------------------------

COMPARISON = (
    "select partnership_code, records, population, rate_per_1000, partnerships_in_force, "
    "rank_in_force, force_records, force_population, compared_with_force, is_complete "
    "from fct_police_uk_comparison where force = ? and fiscal_quarter = ? "
    "order by rank_in_force"
)


def test_comparison_ranks_and_significance(police_uk):
    # 2017/18 Q4, Avon and Somerset: 15 records over 7000 people, 2.143 per 1,000.
    #   Bristol  3 / 5000 = 0.6, upper limit 1.753 < 2.143: significantly lower
    #   North Somerset 2 / 1000 = 2.0, limits 0.225-7.221: not significantly different
    #   Somerset 10 / 1000 = 10.0, lower limit 4.787 > 2.143: significantly higher
    rows = police_uk.rows(COMPARISON, AS, Q4)
    assert [r[:3] for r in rows] == [
        (BRISTOL, 3, 5000),
        (NORTH_SOMERSET, 2, 1000),
        (SOMERSET, 10, 1000),
    ]
    assert [r[3] for r in rows] == pytest.approx([0.6, 2.0, 10.0])
    assert [r[4:] for r in rows] == [
        (3, 1, 15, 7000, "significantly lower", True),
        (3, 2, 15, 7000, "not significantly different", True),
        (3, 3, 15, 7000, "significantly higher", True),
    ]
    force_rate, bristol_upper = police_uk.rows(
        "select force_rate_per_1000, rate_upper_95 from fct_police_uk_comparison "
        "where partnership_code = ? and fiscal_quarter = ?",
        BRISTOL,
        Q4,
    )[0]
    assert force_rate == pytest.approx(15 / 7)
    assert bristol_upper == pytest.approx(1.75307, abs=1e-4)


def test_comparison_of_incomplete_quarter_and_other_force(police_uk):
    # 2018/19 Q1: no June file from Avon and Somerset. North Somerset had no records (rate 0).
    rows = police_uk.rows(COMPARISON, AS, Q1)
    assert [(r[0], r[1], r[2], r[5], r[9]) for r in rows] == [
        (NORTH_SOMERSET, 0, 1000, 1, False),
        (BRISTOL, 1, 5000, 2, False),
        (SOMERSET, 2, 1100, 3, False),
    ]
    # Torbay alone in its force: rank 1, its rate is the force's.
    assert police_uk.rows(COMPARISON, DC, Q4) == [
        (TORBAY, 3, 500, 6.0, 1, 1, 3, 500, "not significantly different", True)
    ]


# --- MoJ reoffending for a partnership of several districts ----------------------------------


def test_reoffending_of_several_districts_is_their_combined_rates(police_uk):
    """Mendip (100 offenders, 30.0% against 40.0% predicted) and Sedgemoor (300, 41.2% against
    44.0%): 15,360 reoffenders of 400 is 38.4% against 17,200 / 400 = 43.0% predicted, a
    difference of 38.4 / 43.0 - 1 = -10.7%, not the -31.4 their differences add up to."""
    row = police_uk.indicator("RR_REOFFEND_DIFF", Q4)
    assert (row["numerator"], row["denominator"], row["value"]) == (38.4, 43.0, -10.7)
