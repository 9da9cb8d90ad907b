"""Force-wide police extracts to docs/feeds.md §1, at any size, fast enough for 65 million rows.

Each force sends ``police_crime_<force>_YYYY-MM.csv`` every month: UTF-8 with a byte-order
mark, ``\\r\\n`` line endings, dates dd/mm/yyyy, a few crimes from the month before repeated
with a changed status (latest row wins), and a handful of LSOA codes missing from the lookup
(so the build has something to report). The rows are made by DuckDB (``range`` and ``hash``),
not Python loops: the national size is written in a few minutes, and the same arguments always
give the same bytes. The LSOA → local authority lookup for the generated geography is written
beside them.

West Midlands Police and its seven authorities carry their real names and codes; the other
authorities and every LSOA code are synthetic (``E99…``, ``E01…``), because the real lists
cannot be downloaded here.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from core.contracts import police_forces
from core.periods import first_of_month

WEST_MIDLANDS = [
    ("E08000025", "Birmingham"),
    ("E08000026", "Coventry"),
    ("E08000027", "Dudley"),
    ("E08000028", "Sandwell"),
    ("E08000029", "Solihull"),
    ("E08000030", "Walsall"),
    ("E08000031", "Wolverhampton"),
]
LSOAS_PER_AUTHORITY = 60
LOCATIONS = [
    "Dwelling",
    "Street/Road",
    "Licensed Premises",
    "Public Transport",
    "Open Space",
    "Shop/Commercial",
    "School/Education",
    "Vehicle",
    "Other",
]
SECTORS = ["Central", "North", "South", "East", "West"]
# Share of a month's rows that repeat a crime of the month before, now cancelled.
REPEAT_SHARE = 0.01
# One row in this many names an LSOA the lookup does not know.
UNKNOWN_LSOA_EVERY = 20_000


@dataclass(frozen=True)
class Authority:
    """A local authority (a partnership) inside a force."""

    la_code: str
    la_name: str
    force: str


@dataclass(frozen=True)
class Scale:
    """How much to generate: forces, months, and crimes per force per month."""

    forces: int
    months: int
    rows_per_force_month: int


# national: 43 forces x 120 months x ~12,600 = ~65 million crimes (~6.5 million a year).
SCALES = {
    "tiny": Scale(forces=2, months=6, rows_per_force_month=500),
    "small": Scale(forces=2, months=24, rows_per_force_month=3_000),
    "medium": Scale(forces=7, months=120, rows_per_force_month=13_000),
    "national": Scale(forces=43, months=120, rows_per_force_month=12_600),
}


def authorities(forces: list[str]) -> list[Authority]:
    """The authorities of each force: West Midlands' real seven, five synthetic elsewhere."""
    found = []
    for number, force in enumerate(forces):
        if force == "west-midlands":
            found += [Authority(code, name, force) for code, name in WEST_MIDLANDS]
        else:
            found += [
                Authority(f"E99{number:03d}{k:03d}", f"{force.title()} {k}", force)
                for k in range(1, 6)
            ]
    return found


def chosen_forces(count: int) -> list[str]:
    """The first ``count`` forces, West Midlands first (the partnership the demo knows)."""
    slugs = [slug for slug, _ in police_forces()]
    slugs.remove("west-midlands")
    return ["west-midlands", *slugs][:count]


def write_lookup(path: Path, places: list[Authority]) -> None:
    """The LSOA → local authority lookup of the generated geography."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["lsoa_code", "la_code", "la_name", "force"])
        for index, place in enumerate(places):
            for k in range(LSOAS_PER_AUTHORITY):
                writer.writerow([_lsoa(index, k), place.la_code, place.la_name, place.force])


def _lsoa(authority_index: int, k: int) -> str:
    return f"E01{authority_index * LSOAS_PER_AUTHORITY + k:06d}"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _extract_sql(
    force_index: int,
    force: str,
    month: date,
    rows: int,
    previous_rows: int,
    places: list[tuple[int, Authority]],
    classes: list[str],
    descriptions: list[str],
) -> str:
    """One force-month's rows: new crimes, then repeats of last month's now cancelled."""
    lsoas = [
        (_lsoa(i, k), place.la_name) for i, place in places for k in range(LSOAS_PER_AUTHORITY)
    ]
    codes = _sql_list([code for code, _ in lsoas])
    names = _sql_list([name for _, name in lsoas])
    next_month = first_of_month(month, 1)
    days = (next_month - month).days
    seed = force_index * 10_000_000 + month.year * 12 + month.month
    repeats = int(previous_rows * REPEAT_SHARE)
    previous = first_of_month(month, -1)
    return f"""
    with

    crimes as (

        select i, {seed} as seed, date '{month}' as month, {days} as days, 'Recorded' as status
        from range({rows}) as t(i)
        union all
        select i, {seed - 1} as seed, date '{previous}' as month,
               {(month - previous).days} as days, 'Cancelled' as status
        from range({repeats}) as t(i)

    ),

    drawn as (

        select
            *,
            hash(seed, i) as h,
            month + cast(hash(seed, i, 1) % days as integer) as recorded,
            cast(hash(seed, i, 2) % len({codes}) as integer) + 1 as place
        from crimes

    )

    select
        printf('{force_index + 1:02d}/%07d/%02d', (seed % 1000) * 10000 + i,
               year(month) % 100) as "Crime Reference",
        strftime(recorded, '%d/%m/%Y') as "Recorded Date",
        case when h % 10 = 0 then null
             else strftime(recorded - cast(hash(seed, i, 3) % 20 as integer), '%d/%m/%Y')
        end as "Offence Date",
        {_sql_list(classes)}[cast(hash(seed, i, 4) % {len(classes)} as integer) + 1]
            as "HO Class",
        {_sql_list(descriptions)}[cast(hash(seed, i, 4) % {len(classes)} as integer) + 1]
            as "Offence Description",
        {_sql_list(LOCATIONS)}[cast(hash(seed, i, 5) % {len(LOCATIONS)} as integer) + 1]
            as "Location Type",
        case when hash(seed, i, 6) % 100 < 12 then 'Y' else 'N' end as "DA Flag",
        case when hash(seed, i, 7) % 100 < 2 then 'Y' else 'N' end as "Knife Flag",
        case when hash(seed, i, 8) % 1000 < 3 then 'Y' else 'N' end as "Firearm Flag",
        case when status = 'Recorded' and hash(seed, i, 9) % 100 < 2 then 'Cancelled'
             else status end as "Status",
        case when h % 5 = 0 then null else cast(10 + hash(seed, i, 10) % 70 as integer)
        end as "Victim Age",
        case when hash(seed, i, 11) % {UNKNOWN_LSOA_EVERY} = 0 then 'E01999999'
             else {codes}[place] end as "LSOA Code",
        {names}[place] || ' Ward ' || cast(place % 17 + 1 as varchar) as "Ward",
        {_sql_list(SECTORS)}[place % {len(SECTORS)} + 1] as "Sector"
    from drawn
    order by status desc, i
    """


def _as_delivered(raw: Path, target: Path) -> None:
    # Saved from Excel: a byte-order mark and CRLF line endings (docs/feeds.md §1).
    data = raw.read_bytes().replace(b"\n", b"\r\n")
    target.write_bytes(b"\xef\xbb\xbf" + data)
    raw.unlink()


def force_rows(scale: Scale, force_index: int) -> int:
    """Crimes a force records a month: forces differ in size, as they do."""
    return int(scale.rows_per_force_month * (0.6 + 0.8 * ((force_index * 37) % 11) / 10))


def generate(
    folder: Path, scale: Scale, first_month: date = date(2005, 4, 1), months: range | None = None
) -> list[Path]:
    """Write the extracts of ``months`` (default all of the scale) under
    ``folder/landing/police_crime`` and the lookup under ``folder/reference``; return the
    extracts written."""
    forces = chosen_forces(scale.forces)
    places = authorities(forces)
    write_lookup(folder / "reference" / "lsoa_la_lookup.csv", places)
    reference = Path(__file__).resolve().parents[1] / "dbt_project/seeds/ho_offence_classes.csv"
    with reference.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    classes = [r["ho_class"] for r in rows]
    descriptions = [r["description"] for r in rows]
    out = folder / "landing" / "police_crime"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with duckdb.connect() as con:
        for force_index, force in enumerate(forces):
            mine = [(i, p) for i, p in enumerate(places) if p.force == force]
            per_month = force_rows(scale, force_index)
            for offset in months or range(scale.months):
                month = first_of_month(first_month, offset)
                target = out / f"police_crime_{force}_{month:%Y-%m}.csv"
                raw = target.with_suffix(".tmp")
                sql = _extract_sql(
                    force_index,
                    force,
                    month,
                    per_month,
                    per_month if offset else 0,
                    mine,
                    classes,
                    descriptions,
                )
                con.execute(f"copy ({sql}) to '{raw}' (header, delimiter ',')")
                _as_delivered(raw, target)
                written.append(target)
    return written
