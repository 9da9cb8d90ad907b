"""``csp report`` recorded in Dagster: the report's quarter materialised, as the UI counts it.

The asset ``exports/quarterly_report`` is partitioned by financial quarter
(``orchestration.defs.partitions.QUARTERS``). A report written by ``csp report`` was not a
Dagster run, so the UI went on showing none of its quarters materialised. Running the asset as
a job from the command line would write the report a second way (the asset always writes the
public version, ``csp report`` only when asked) and add a run's start-up to a command that
already did the work. So the report is recorded for what it is: a materialisation reported
from outside a run (``DagsterInstance.report_runless_asset_event``, public API), carrying the
files written and saying which command wrote them. Dagster counts the partition as
materialised, with that event as its latest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from core.periods import parse_quarter_label, quarter_slug
from core.settings import Settings
from orchestration.defs.partitions import QUARTERS
from orchestration.instance import write_instance_yaml

REPORT_KEY = dg.AssetKey(["exports", "quarterly_report"])
# report-<slug>.html, the slug of a quarter label (core.periods.quarter_slug: 2014-15-Q2).
_REPORT_NAME = re.compile(r"report-(?P<year>\d{4})-(?P<next>\d{2})-Q(?P<number>[1-4])\.html")


def report_partition_key(quarter: str) -> str:
    """The partition of ``exports/quarterly_report`` for a quarter label: its first day.

    ``2014/15 Q2`` -> ``2014-07-01``; ValueError when ``quarter`` is not a label.
    """
    return parse_quarter_label(quarter).start.strftime("%Y-%m-%d")


def quarter_of_report(written: Mapping[str, Path]) -> str | None:
    """The quarter label of the report among ``written`` (``report-2014-15-Q2.html``), or None.

    For ``csp report`` without ``--quarter``, which chose the latest quarter with figures.
    """
    report = written.get("report")
    found = _REPORT_NAME.fullmatch(report.name) if report is not None else None
    if found is None:
        return None
    label = f"{found['year']}/{found['next']} Q{found['number']}"
    try:
        # Only a label that names the same file back (2014/15, never 2014/17).
        parse_quarter_label(label)
    except ValueError:
        return None
    return label if f"report-{quarter_slug(label)}.html" == report.name else None


def record_report(
    settings: Settings, quarter: str | None, written: Mapping[str, Path]
) -> str | None:
    """Record in the home's Dagster instance that ``csp report`` wrote ``quarter``'s report.

    ``written`` is what ``write_quarter_outputs`` returned; ``quarter`` may be None (the latest
    quarter, read back from the report's file name). Returns the partition key recorded, or
    None when the quarter is not one of the asset's partitions (before 2012/13, or not yet
    begun), which Dagster could not show.
    """
    label = quarter or quarter_of_report(written)
    if label is None:
        return None
    key = report_partition_key(label)
    if key not in QUARTERS.get_partition_keys():
        return None
    # The event log's path is absolute in dagster.yaml: rewrite it for where the home is now,
    # as csp build does, or a moved home's event would be stored in the old place.
    write_instance_yaml(settings.dagster_home)
    files = {
        name: dg.MetadataValue.path(str(path))
        for name, path in written.items()
        if not name.startswith(("marts/", "docs/"))
    }
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=REPORT_KEY,
                partition=key,
                description=f"Written by csp report for {label}, outside a Dagster run.",
                metadata={
                    "quarter": label,
                    "written_by": "csp report",
                    "public": "public_report" in written,
                    "as_of": settings.as_of.isoformat(),
                    **files,
                },
            )
        )
    return key
