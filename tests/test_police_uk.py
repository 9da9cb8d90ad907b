"""From an empty folder to figures, on data.police.uk and ONS files exactly as published.

The home gets the real files of tests/data/public (City of London's street-level crime and
anti-social behaviour, January to March 2018; ONS's lookups and mid-2019 population estimates,
as published, cut to the rows of the districts involved) and one command:
``csp build --home DIR --as-of DATE --partnership CODE``. Every count is computed here again,
independently, from the same files with the csv module.

A partnership of several districts: none of the real forces' files here is of one (the
public folder has City of London, Merseyside and South Yorkshire, all of single-district
partnerships), so Somerset (E22000369, four districts) gets a month written in police.uk's
exact layout over real Somerset LSOAs of the ONS lookup.
"""

from __future__ import annotations

import csv
import html
import json
import os
import random
import re
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from orchestration.cli import main

DATA = Path(__file__).resolve().parent / "data" / "public"
POLICE = DATA / "police_uk"
ONS = DATA / "ons"
LSOA_LOOKUP = ONS / "LSOA_(2011)_to_LAD_(2019)_with_IMD_2019_Lookup_in_England.csv"
WARD_LOOKUP_2017 = ONS / "LSOA_(2011)_to_Ward_(2017)_to_LAD_(2017)_Lookup_in_England_and_Wales.csv"
CSP_LOOKUP = ONS / "LAD_to_CSP_to_PFA_(December_2019)_Lookup_in_England_and_Wales.csv"
POPULATION = ONS / "SAPE_mid-2019_LSOA_persons_all_ages.csv"
CITY = "E22000180"
SOMERSET = "E22000369"
AS_OF = "2018-06-30"
Q4 = "2017/18 Q4"  # January to March 2018


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _lsoa_partnership() -> dict[str, str]:
    """LSOA -> CSP, from the ONS files, independently of the warehouse."""
    district_csp: dict[str, set[str]] = {}
    for row in _read(CSP_LOOKUP):
        district_csp.setdefault(row["LAD19CD"], set()).add(row["CSP19CD"])
    return {
        row["LSOA11CD"]: next(iter(district_csp[row["LAD19CD"]]))
        for row in _read(LSOA_LOOKUP)
        if len(district_csp.get(row["LAD19CD"], ())) == 1
    }


def _population(lsoas: set[str]) -> int:
    return sum(
        int(row["All Ages"].replace(",", ""))
        for row in _read(POPULATION)
        if row["LSOA Code"] in lsoas
    )


def _expected_month_counts(files: list[Path]) -> Counter:
    place = _lsoa_partnership()
    counts: Counter = Counter()
    for path in files:
        for row in _read(path):
            if row["LSOA code"] in place:
                counts[(place[row["LSOA code"]], row["Month"] + "-01", row["Crime type"])] += 1
    return counts


def _mart_month_counts(home: Path) -> Counter:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select partnership_code, strftime(month, '%Y-%m-%d'), crime_type, "
            "records from main.fct_police_uk_month"
        ).fetchall()
    return Counter({(code, month, kind): n for code, month, kind, n in rows})


def _indicators(home: Path) -> dict[tuple[str, str], dict[str, str]]:
    rows = _read(home / "exports" / "indicators.csv")
    return {(r["indicator_code"], r["fiscal_quarter"]): r for r in rows}


def _build(home: Path, *flags: str) -> int:
    return main(["build", "--home", str(home), "--as-of", AS_OF, *flags])


@pytest.fixture(scope="module")
def city_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh home given the real files, built once with the partnership flag."""
    for variable in ("CSP_HOME", "CSP_AS_OF", "CSP_LA_CODE", "CSP_PARTNERSHIP", "CSP_LA_NAME"):
        os.environ.pop(variable, None)
    home = tmp_path_factory.mktemp("public") / "home"
    (home / "landing" / "police_uk").mkdir(parents=True)
    (home / "reference").mkdir()
    for path in sorted(POLICE.glob("*.csv")):
        shutil.copy(path, home / "landing" / "police_uk")
    for path in (LSOA_LOOKUP, WARD_LOOKUP_2017, CSP_LOOKUP, POPULATION):
        shutil.copy(path, home / "reference")
    assert _build(home, "--partnership", CITY) == 0
    return home


def test_month_counts_match_the_files_for_every_partnership(city_home: Path) -> None:
    expected = _expected_month_counts(sorted(POLICE.glob("*.csv")))
    # The City's own and the neighbouring boroughs' records of the City of London force.
    codes = {code for code, *_ in expected}
    assert CITY in codes and len(codes) >= 3
    assert _mart_month_counts(city_home) == expected


def test_nothing_is_dropped_silently(city_home: Path) -> None:
    rows = [r for p in sorted(POLICE.glob("*.csv")) for r in _read(p)]
    no_location = sum(1 for r in rows if not r["LSOA code"])
    with duckdb.connect(str(city_home / "warehouse.duckdb"), read_only=True) as con:
        total, located, unplaced = con.execute(
            "select sum(records), sum(located_records), sum(no_location_records) "
            "from main.fct_police_uk_force_month where force = 'city-of-london'"
        ).fetchone()
    assert (total, unplaced) == (len(rows), no_location)
    assert located == sum(_expected_month_counts(sorted(POLICE.glob("*.csv"))).values())


def test_the_partnership_indicators_rates_and_intervals(city_home: Path) -> None:
    rows = [r for p in sorted(POLICE.glob("*.csv")) for r in _read(p)]
    city_lsoas = {lsoa for lsoa, code in _lsoa_partnership().items() if code == CITY}
    in_city = [r for r in rows if r["LSOA code"] in city_lsoas]
    crimes = sum(1 for r in in_city if r["Crime type"] != "Anti-social behaviour")
    asb = sum(1 for r in in_city if r["Crime type"] == "Anti-social behaviour")
    population = _population(city_lsoas)
    indicators = _indicators(city_home)
    total = indicators[("PC_TOTAL", Q4)]
    assert total["data_status"] == "ok"
    assert float(total["value"]) == crimes
    assert float(indicators[("PC_ANTI_SOCIAL_BEHAVIOUR", Q4)]["value"]) == asb
    assert int(float(total["population"])) == population
    rate = crimes / population * 1000
    assert float(total["rate_per_1000"]) == pytest.approx(rate, rel=1e-3)
    # Byar's method, as PHE Fingertips computes it.
    z = 1.959963984540054
    lower = crimes * (1 - 1 / (9 * crimes) - z / (3 * crimes**0.5)) ** 3 / population * 1000
    upper = (
        (crimes + 1)
        * (1 - 1 / (9 * (crimes + 1)) + z / (3 * (crimes + 1) ** 0.5)) ** 3
        / population
        * 1000
    )
    assert float(total["rate_lower_95"]) == pytest.approx(lower, rel=1e-3)
    assert float(total["rate_upper_95"]) == pytest.approx(upper, rel=1e-3)
    # April to June 2018 has not arrived: not ok, and no figure.
    assert indicators[("PC_TOTAL", "2018/19 Q1")]["data_status"] != "ok"


def test_the_home_remembers_its_partnership(
    city_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert 'code = "E22000180"' in (city_home / "csp.toml").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["status", "--home", str(city_home), "--as-of", AS_OF, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["la_code"], status["partnership"]) == (CITY, "City of London")
    police_uk = next(f for f in status["feeds"] if f["feed"] == "police_uk")
    assert police_uk["last_period"] == "2018-03"
    assert main(["monitor", "--home", str(city_home), "--as-of", AS_OF]) == 0
    assert main(["report", "--home", str(city_home), "--as-of", AS_OF, "--quarter", Q4]) == 0
    report = (city_home / "exports" / "report-2017-18-Q4.html").read_text(encoding="utf-8")
    section = _visible_text(report[report.index('id="public-crime"') : report.index('id="method"')])
    city_lsoas = {lsoa for lsoa, code in _lsoa_partnership().items() if code == CITY}
    rows = [
        r for p in sorted(POLICE.glob("*.csv")) for r in _read(p) if r["LSOA code"] in city_lsoas
    ]
    crimes = sum(1 for r in rows if r["Crime type"] != "Anti-social behaviour")
    rate = crimes / _population(city_lsoas) * 1000
    # The counts as published, the rate, and the indicators public data cannot give.
    assert (
        f"Recorded crime (all types but anti-social behaviour) {crimes:,} N/A {rate:.1f}" in section
    )
    assert f"{crimes:,} crimes recorded (all types but anti-social behaviour)" in section
    assert "has no other partnership of its force" in section  # the City force is one CSP
    assert "Public data cannot give public place violence with injury" in section


def _visible_text(fragment: str) -> str:
    """The words of an HTML fragment without its scripts and tags, spaces collapsed."""
    without_scripts = re.sub(r"<script.*?</script>", " ", fragment, flags=re.S)
    words = html.unescape(re.sub(r"<[^>]+>", " ", without_scripts))
    return re.sub(r"\s+", " ", words).strip()


def test_the_unused_older_lookup_and_unplaced_records_are_named(
    city_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _build(city_home) == 0
    out, err = capsys.readouterr()
    assert WARD_LOOKUP_2017.name in err and "E07000190" in err
    # Records without a location are said, not dropped silently.
    no_location = sum(
        1 for p in sorted(POLICE.glob("*.csv")) for r in _read(p) if not r["LSOA code"]
    )
    assert f"{no_location} data.police.uk record(s) have no location" in out


def test_a_republished_month_replaces_the_first(city_home: Path, tmp_path: Path) -> None:
    """data.police.uk re-publishes a month with changes; the later file wins everywhere."""
    home = tmp_path / "home"
    shutil.copytree(city_home, home, symlinks=True)
    february = POLICE / "2018-02-city-of-london-street.csv"
    rows = _read(february)
    random.Random(7).shuffle(rows)
    revised = rows[: len(rows) - 50]  # some records withdrawn
    revised += [
        dict(
            rows[0],
            **{"Crime ID": "", "Crime type": "Anti-social behaviour", "Last outcome category": ""},
        )
    ] * 7  # ASB added
    target = home / "landing" / "police_uk" / february.name
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(revised)
    os.utime(target, (1e9, 1e9))  # a later delivery wins, whatever its timestamps say
    assert _build(home) == 0
    files = [
        POLICE / "2018-01-city-of-london-street.csv",
        target,
        POLICE / "2018-03-city-of-london-street.csv",
    ]
    assert _mart_month_counts(home) == _expected_month_counts(files)
    city_lsoas = {lsoa for lsoa, code in _lsoa_partnership().items() if code == CITY}
    crimes = sum(
        1
        for p in files
        for r in _read(p)
        if r["LSOA code"] in city_lsoas and r["Crime type"] != "Anti-social behaviour"
    )
    assert float(_indicators(home)[("PC_TOTAL", Q4)]["value"]) == crimes


def _somerset_month(path: Path) -> Path:
    """A month in police.uk's exact layout over real Somerset LSOAs (see module docstring)."""
    somerset = {"E07000187", "E07000188", "E07000189", "E07000246"}
    lsoas = [(r["LSOA11CD"], r["LSOA11NM"]) for r in _read(LSOA_LOOKUP) if r["LAD19CD"] in somerset]
    rng = random.Random(2018)
    kinds = ["Anti-social behaviour", "Burglary", "Violence and sexual offences", "Drugs"]
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context"
    )
    lines = [header]
    for n in range(400):
        code, name = rng.choice(lsoas)
        kind = rng.choice(kinds)
        crime_id = "" if kind == "Anti-social behaviour" else f"{n:064x}"
        if n % 40 == 0:
            code = name = ""  # no location
        lines.append(
            f"{crime_id},2018-01,Avon and Somerset Constabulary,Avon and Somerset "
            f"Constabulary,-2.9,51.1,On or near Park Road,{code},{name},{kind},,"
        )
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return path


def test_a_partnership_of_four_districts_given_by_one_of_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "landing" / "police_uk").mkdir(parents=True)
    (home / "reference").mkdir()
    for path in (LSOA_LOOKUP, CSP_LOOKUP, POPULATION):
        shutil.copy(path, home / "reference")
    month = _somerset_month(home / "landing" / "police_uk" / "2018-01-avon-and-somerset-street.csv")
    # Mendip, one of Somerset's districts, stands for the partnership.
    assert _build(home, "--partnership", "E07000187") == 0
    assert 'code = "E22000369"' in (home / "csp.toml").read_text(encoding="utf-8")
    assert _mart_month_counts(home) == _expected_month_counts([month])
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        districts, population = con.execute(
            "select districts, population from main.dim_partnership where partnership_code = ?",
            [SOMERSET],
        ).fetchone()
    assert districts == "E07000187,E07000188,E07000189,E07000246"
    somerset_lsoas = {lsoa for lsoa, code in _lsoa_partnership().items() if code == SOMERSET}
    assert population == _population(somerset_lsoas)
    assert {r["LSOA code"] for r in _read(month) if r["LSOA code"]} <= somerset_lsoas


def test_the_comparison_sentence_follows_the_row() -> None:
    """The report's words say what fct_police_uk_comparison's row for the partnership says."""
    from types import SimpleNamespace

    from exports.report import comparison_sentence
    from exports.report_model import PublicCrime

    def row(code: str, rate: float, rank: int, compared: str) -> dict:
        return {
            "partnership_code": code,
            "is_this": code == SOMERSET,
            "rate_per_1000": rate,
            "rate_lower_95": rate - 1,
            "rate_upper_95": rate + 1,
            "rank_in_force": rank,
            "partnerships_in_force": 3,
            "compared_with_force": compared,
            "force_rate_per_1000": 20.0,
            "is_complete": True,
        }

    data = SimpleNamespace(la_name="Somerset", quarter=Q4)
    crime = PublicCrime(
        loaded=True,
        not_fed=[],
        comparison=[
            row("E22000018", 12.0, 1, "significantly lower"),
            row(SOMERSET, 19.5, 2, "not significantly different"),
            row("E22000019", 30.0, 3, "significantly higher"),
        ],
    )
    assert comparison_sentence(data, crime) == (
        "Somerset's rate of recorded crime, 19.5 per 1,000 residents (95% interval 18.5 to "
        "20.5), ranks 2 of 3 partnerships of its force (1 = lowest rate) and is not "
        "significantly different from the force's rate of 20.0 per 1,000 (Byar's method)."
    )
    crime.comparison = crime.comparison[:1]
    assert "cannot be compared" in comparison_sentence(data, crime)
