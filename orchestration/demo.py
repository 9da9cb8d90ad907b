"""The demonstration: Wolverhampton's feeds 2012/13 to 2014/15, built as of 4 December 2014.

The published figures of the 4 December 2014 scrutiny report (docs/indicators.md) are stated here
once, as data, and checked against the built warehouse by ``csp demo`` and by the tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

import duckdb

from core.contracts import contract_for
from core.settings import CONFIG_FILE, Settings
from ingest.pseudonymise import create_demo_keys
from orchestration.demonstration import write_demo_landing

DEMO_MARKER = ".csp-demo"
DEMO_AS_OF = "2014-12-04"
DEMO_CONFIG = f"""\
# Demonstration partnership (written by `csp demo`).
[partnership]
la_code = "E08000031"
name = "Wolverhampton"

[demonstration]
# Judged as of the day of the 2014 scrutiny report, not today, by every csp command and by
# the Dagster UI's runs (csp ui, make dev), unless --as-of or CSP_AS_OF says otherwise.
as_of = {DEMO_AS_OF}

[feeds.police_crime]
partner = "West Midlands Police"

[feeds.rny_treatment]
partner = "Recovery Near You"

[feeds.idva_caseload]
partner = "IDVA service"

[feeds.moj_reoffending]
partner = "Ministry of Justice"
# In 2014 the MoJ stopped sending localised reoffending data.
suspended_since = 2014-01-01
suspension_reason = "MoJ: localised data not available until further notice (Transforming Rehabilitation)"
"""  # noqa: E501 (the reason is one TOML line, as csp.toml holds it)
# What a demo home holds that a rerun rebuilds from scratch.
DEMO_OUTPUTS = (
    "landing",
    "archive",
    "quarantine",
    "exports",
    "dbt",
    "dagster",
    "warehouse.duckdb",
    "warehouse.duckdb.wal",
)


def prepare_demo_home(home: Path) -> Iterator[str]:
    """Reset a demo home (never a real one), write its configuration, key and landing files."""
    if home.exists() and any(home.iterdir()) and not (home / DEMO_MARKER).exists():
        raise SystemExit(f"csp demo: {home} exists and is not a demo home; choose another --home")
    home.mkdir(parents=True, exist_ok=True)
    (home / DEMO_MARKER).write_text("This folder was made by `csp demo` and is rebuilt by it.\n")
    for name in DEMO_OUTPUTS:
        target = home / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    (home / CONFIG_FILE).write_text(DEMO_CONFIG)
    created = create_demo_keys(home)
    if created:
        yield (
            f"Created local pseudonymisation keys for the demo in {created[0].parent.parent} "
            f"({', '.join(p.parent.name for p in created)}); a real partnership keeps its "
            "keys outside the home and the repository."
        )
    write_demo_landing(home / "landing")
    files = sorted((home / "landing").glob("*/*"))
    stamp_arrivals(files)
    yield f"Wrote {len(files)} demonstration files into {home / 'landing'}"


def stamp_arrivals(files: list[Path]) -> None:
    """Date each file as if it had arrived a few days before it was due.

    Arrival order (modification time) breaks ties between deliveries, and a file that has
    just been written looks like one still being copied in.
    """
    for path in files:
        contract = contract_for(path.parent.name)
        period = contract.period_from_file_name(path.name)
        if period is None:
            continue
        due = period.end + timedelta(days=contract.due_days_after_period_end)
        arrived = datetime.combine(due - timedelta(days=4), time(9, 0)).timestamp()
        os.utime(path, (arrived, arrived))


@dataclass(frozen=True)
class PublishedFigure:
    """One figure of the 2014 report and how the warehouse states it."""

    report_says: str
    query: str
    check: Callable[[tuple], bool]
    source_feed: str


def _indicator(code: str, quarter: str, column: str) -> str:
    return (
        f"select {column} from fct_indicator_quarter "
        f"where indicator_code = '{code}' and fiscal_quarter = '{quarter}'"
    )


PPV_APR_OCT = """
select
    count(*) filter (where recorded_date between date '2014-04-01' and date '2014-10-31'),
    count(*) filter (where recorded_date between date '2013-04-01' and date '2013-10-31')
from fct_crime where is_ppv and la_code = '{la_code}'
"""

PUBLISHED_FIGURES: list[PublishedFigure] = [
    PublishedFigure(
        "reoffending 18.3% below the predicted rate (Q3 2013/14), Green against -12",
        _indicator("RR_REOFFEND_DIFF", "2013/14 Q3", "value, rag_status, data_status"),
        lambda r: r == (-18.3, "Green", "ok"),
        "moj_reoffending",
    ),
    PublishedFigure(
        "no reoffending data since: suspended from 2013/14 Q4",
        _indicator("RR_REOFFEND_DIFF", "2013/14 Q4", "data_status, value"),
        lambda r: r == ("suspended", None),
        "moj_reoffending",
    ),
    PublishedFigure(
        "41% increase in reported DV, first half of 2014/15 on the same period last year",
        _indicator("VA_DA_CRIMES", "2014/15 Q2", "ytd_value, ytd_prev_value"),
        lambda r: None not in r and abs(100 * (r[0] / r[1] - 1) - 41) <= 0.5,
        "police_crime",
    ),
    PublishedFigure(
        "205 high-risk victims supported in the first half",
        _indicator("VA_IDVA_HIGH_RISK", "2014/15 Q2", "ytd_value"),
        lambda r: r == (205,),
        "idva_caseload",
    ),
    PublishedFigure(
        "1354 incidents screened in the first half",
        _indicator("VA_SCREENED", "2014/15 Q2", "ytd_value"),
        lambda r: r == (1354,),
        "idva_caseload",
    ),
    PublishedFigure(
        "employment 44.7% year to date against 45% (Amber)",
        _indicator("RR_EMPLOYMENT", "2014/15 Q2", "ytd_value, rag_status"),
        lambda r: r == (44.7, "Amber"),
        "partner_returns",
    ),
    PublishedFigure(
        "accommodation 86.4% year to date against 87% (Amber)",
        _indicator("RR_ACCOMMODATION", "2014/15 Q2", "ytd_value, rag_status"),
        lambda r: r == (86.4, "Amber"),
        "partner_returns",
    ),
    PublishedFigure(
        "Q1 and Q2: 68 prolific, 60 HCCU, 10 DA and 39 gang-related offenders managed by IOM",
        "select list(value order by indicator_code) from fct_indicator_quarter "
        "where fiscal_quarter = '2014/15 Q2' and indicator_code in "
        "('RR_IOM_DA', 'RR_IOM_GANG', 'RR_IOM_HCCU', 'RR_IOM_PROLIFIC')",
        lambda r: r == ([10, 39, 60, 68],),
        "partner_returns",
    ),
    PublishedFigure(
        "7 referrals to gang exit services and 4 crisis call-outs",
        "select list(ytd_value order by indicator_code) from fct_indicator_quarter "
        "where fiscal_quarter = '2014/15 Q2' and indicator_code in "
        "('GY_CRISIS_CALLOUTS', 'GY_GANG_REFERRALS')",
        lambda r: r == ([4, 7],),
        "partner_returns",
    ),
    PublishedFigure(
        "successful domestic abuse prosecution rate 70%",
        _indicator("VA_PROSECUTION_SUCCESS", "2014/15 Q2", "ytd_value"),
        lambda r: r == (70.0,),
        "partner_returns",
    ),
    PublishedFigure(
        "PPV up 107 offences (+16.8%), 1 April to 31 October on last year",
        PPV_APR_OCT,
        lambda r: r[0] - r[1] == 107 and round(100 * (r[0] - r[1]) / r[1], 1) == 16.8,
        "police_crime",
    ),
]


def check_published_figures(
    warehouse: Path, la_code: str
) -> list[tuple[PublishedFigure, tuple, bool]]:
    """Each published figure with what the warehouse holds and whether it matches."""
    results = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for figure in PUBLISHED_FIGURES:
            row = con.execute(figure.query.format(la_code=la_code)).fetchone()
            found = tuple(row) if row else ()
            results.append((figure, found, bool(row) and figure.check(found)))
    return results


def _in_words(value: object) -> str:
    """One value the warehouse gave, as a reader writes it: 1,551 not 1551.0, "none"."""
    if value is None:
        return "none"
    if isinstance(value, list | tuple):
        return " and ".join(_in_words(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int | float):
        return f"{value:,}"
    return str(value)


def published_figures_report(settings: Settings) -> Iterator[str]:
    """Lines for the command line: each published figure, reproduced or not, with what the
    warehouse holds."""
    yield "Published figures of the 4 December 2014 report:"
    for figure, found, ok in check_published_figures(settings.warehouse, settings.la_code):
        held = ", ".join(_in_words(v) for v in found) or "nothing"
        yield f"  [{'ok' if ok else 'MISMATCH'}] {figure.report_says} (warehouse: {held})"
