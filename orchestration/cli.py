"""The ``csp`` command line.

csp build --home DIR [--as-of YYYY-MM-DD] [--partnership CODE] [--strict] [--full-refresh]
csp ingest  --home DIR [--partnership CODE] [--strict]
csp status  --home DIR [--as-of YYYY-MM-DD] [--json] [--verbose]
csp monitor --home DIR [--as-of YYYY-MM-DD] [--json]
csp template --partner NAME --quarter "2014/15 Q3" [--home DIR | --output DIR]
csp demo  [--home DIR]
csp report  --home DIR [--quarter "2014/15 Q2"] [--public] [--interactive]
csp rekey   DOMAIN --home DIR [--no-build]
csp ui      --home DIR [--port 3000] [--host 127.0.0.1]
csp docs    --home DIR [--port 8080] [--generate]
csp doctor  --home DIR
csp --version; csp COMMAND --help (a description and examples for each)

``--log-level`` goes before or after the command. Only build, demo and db init make a home;
every other command needs an existing one (orchestration/home.py).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import textwrap
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from core.feed_status import (
    FeedStatus,
    feed_and_partner,
    feed_statuses,
    periods_in_words,
    worst_severity,
)
from core.settings import ConfigError, Settings
from ingest.pseudonymise import KeyConfigError, MissingKeyError
from orchestration.config import load_settings
from orchestration.home import require_home
from orchestration.instance import write_instance_yaml
from orchestration.memory import limit_malloc_arenas

if TYPE_CHECKING:
    from orchestration.pipeline import BuildResult

# Each command imports the stages it needs inside its own function: importing this module
# takes 0.13 s, `csp status` 0.28 to 0.36 s with what it reads, and every stage at once 0.75
# to 0.87 s (three runs each on this 2-core machine), which `csp --help`, `csp status` and a
# monitoring probe would otherwise pay on every call.

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # as a shell reports a command whose reader closed the pipe (SIGPIPE)


def _print_build(settings: Settings, result: BuildResult) -> None:
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    by_action: dict[str, int] = {}
    for delivery in result.deliveries:
        by_action[delivery["action"]] = by_action.get(delivery["action"], 0) + 1
    print(f"Partnership {settings.la_name} ({settings.la_code}), as of {settings.as_of}")
    already = by_action.pop("duplicate", 0)
    summary = ", ".join(f"{n} {a}" for a, n in sorted(by_action.items())) or "nothing new"
    print(
        f"Deliveries: {summary}"
        + (f" ({already} file(s) in landing already loaded)" if already else "")
    )
    for delivery in result.rejected:
        print(f"  REJECTED {delivery['feed']}/{delivery['file']}: {delivery['reason']}")
    for check in result.failed_checks:
        print(f"  FEED CHECK {check}")
    if result.success:
        # The steps that cost something, slowest first (where the time of a build goes).
        steps = ", ".join(
            f"{step} {seconds:.1f} s"
            for step, seconds in sorted(result.step_seconds.items(), key=lambda kv: -kv[1])
            if seconds >= 0.5
        )
        print(f"Built in {result.seconds:.1f} s ({steps})")
        print(f"  warehouse   {settings.warehouse}")
        print(f"  indicators  {settings.exports / 'indicators.csv'}")
        print(f"  exports     {settings.exports}")
        if result.rejected:
            print(f"  quarantine  {settings.home / 'quarantine'}")
        _print_unplaced_crimes(settings)
    else:
        print(f"BUILD FAILED after {result.seconds:.1f} s: {result.failure}", file=sys.stderr)
        if result.log_path:
            print(f"Full log: {result.log_path}", file=sys.stderr)


def _print_unplaced_crimes(settings: Settings) -> None:
    """Say when police records count for no partnership: force-wide extracts' and
    data.police.uk's LSOAs the lookup does not know, and data.police.uk's records with no
    location (counted for their force only)."""
    from exports.marts import open_marts

    with open_marts(settings, ["fct_police_unknown_lsoa", "fct_police_uk_force_month"]) as marts:
        extract = marts.execute(
            "select count(distinct lsoa_code), coalesce(sum(crimes), 0) "
            "from main.fct_police_unknown_lsoa"
        ).fetchone()
        public = marts.execute(
            "select coalesce(sum(unknown_lsoa_records), 0), coalesce(sum(no_location_records), 0)"
            " from main.fct_police_uk_force_month"
        ).fetchone()
    if extract[1]:
        print(
            f"  {extract[1]} crime(s) in force-wide police extracts have {extract[0]} LSOA "
            f"code(s) not in the LSOA lookup ({settings.lsoa_lookup_path}), so count for no "
            "partnership: see the mart fct_police_unknown_lsoa"
        )
    if public[0]:
        print(
            f"  {public[0]} data.police.uk record(s) have an LSOA code not in the LSOA "
            "lookup, so count for no partnership: see the mart fct_police_uk_unknown_lsoa"
        )
    if public[1]:
        print(
            f"  {public[1]} data.police.uk record(s) have no location, as published, so "
            "count for their force only: see no_location_records in "
            "fct_police_uk_force_month"
        )


def _settings_of_existing_home(args: argparse.Namespace) -> Settings:
    """The settings of ``--home``, which must already be a home: only build, demo and db
    init make one (orchestration/home.py)."""
    home = require_home(args.home)
    return load_settings(home, args.as_of, args.la_code)


def command_build(args: argparse.Namespace) -> int:
    """Run the whole pipeline once over HOME/landing."""
    from orchestration.pipeline import run_build

    settings = load_settings(args.home, args.as_of, args.la_code)
    result = run_build(settings, log_level=args.log_level, full_refresh=args.full_refresh)
    _print_build(settings, result)
    if not result.success:
        return EXIT_FAILED
    return EXIT_FAILED if args.strict and result.rejected else EXIT_OK


def command_ingest(args: argparse.Namespace) -> int:
    """Load what is waiting in landing into the raw layer (no dbt, no exports)."""
    from ingest.landing import summarise
    from orchestration.pipeline import missing_landing, run_ingest

    settings = _settings_of_existing_home(args)
    outcomes = run_ingest(settings)
    warning = missing_landing(settings, "the raw layer is as it was.")
    if warning:
        print(warning, file=sys.stderr)
    counts = summarise(outcomes)
    print(", ".join(f"{n} {action}" for action, n in counts.items()))
    for outcome in outcomes:
        if outcome.action == "rejected":
            print(f"  REJECTED {outcome.feed}/{outcome.file_name}: {outcome.reason}")
    return EXIT_FAILED if args.strict and counts["rejected"] else EXIT_OK


def command_rekey(args: argparse.Namespace) -> int:
    """Rotate one pseudonymisation key: re-derive its tokens from the archive, then rebuild."""
    from ingest.rekey import RekeyError
    from orchestration.pipeline import run_build, run_rekey

    settings = _settings_of_existing_home(args)
    try:
        result = run_rekey(settings, args.domain)
    except RekeyError as error:
        print(f"csp rekey: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"Re-keyed {result.key_name}: {result.tokens} token(s) of {result.deliveries} "
        f"deliveries re-derived from the archive under {result.new_label} "
        f"(was {result.old_label}) in {result.seconds:.1f} s"
    )
    if result.retired_key:
        print(
            f"The old key is now {result.retired_key}: destroy it once no earlier export "
            "needs matching (SECURITY.md)."
        )
    else:
        print(
            f"Now set {result.env_variable} to the new key (from {result.env_variable}_NEXT) "
            f"and {result.env_variable}_VERSION={result.new_label.rsplit('/v', 1)[1]}, and "
            f"unset {result.env_variable}_NEXT: until then nothing more is loaded."
        )
        return EXIT_OK
    if args.no_build:
        print("The marts still hold the old tokens until the next `csp build`.")
        return EXIT_OK
    build = run_build(settings, log_level=args.log_level)
    _print_build(settings, build)
    return EXIT_OK if build.success else EXIT_FAILED


def command_template(args: argparse.Namespace) -> int:
    """Write a pre-filled quarterly return for one partner."""
    from exports.return_template import write_return_template

    if args.output:
        folder = Path(args.output)
    else:
        folder = Path(args.home) / "exports" / "templates" if args.home else Path.cwd()
    try:
        path = write_return_template(args.partner, args.quarter, folder)
    except ValueError as error:
        print(f"csp template: {error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"Wrote {path}: send it to {args.partner}; it is read back as it is.")
    return EXIT_OK


def command_demo(args: argparse.Namespace) -> int:
    """Write the Wolverhampton demonstration into a home and build it as of 4 December 2014."""
    from orchestration.demo import prepare_demo_home
    from orchestration.pipeline import run_build

    home = Path(args.home).expanduser().resolve()
    for line in prepare_demo_home(home):
        print(line)
    # The demo's own settings win over whatever the shell has set.
    for variable in ("CSP_AS_OF", "CSP_PARTNERSHIP", "CSP_LA_CODE", "CSP_LA_NAME"):
        os.environ.pop(variable, None)
    settings = load_settings(home, "2014-12-04")
    result = run_build(settings, log_level=args.log_level)
    _print_build(settings, result)
    if result.success:
        from orchestration.demo import published_figures_report

        print()
        for line in published_figures_report(settings):
            print(line)
        # As the user ran it (`.venv/bin/csp` under `make run`), so the lines can be pasted.
        csp = sys.argv[0] if Path(sys.argv[0]).name == "csp" else "csp"
        print(
            f"\nAlso in {home}: published/warehouse.duckdb (the copy analysts and reports read),"
            " archive/ (every accepted file as delivered), quarantine/ (rejected files, each"
            " with its reason).\nNext:"
        )
        for command, what in (
            (f"{csp} report --home {home}", "the 2014/15 Q2 report and board pack, in exports/"),
            (f"{csp} status --home {home}", "each feed's delivery status on 4 December 2014"),
            (f"{csp} doctor --home {home}", "check the home as dbt debug checks a project"),
            ("make dev", f"the Dagster UI over this home (or: {csp} ui --home {home})"),
        ):
            print(f"  {command}\n      {what}")
    return EXIT_OK if result.success else EXIT_FAILED


TABLE_WIDTH = 100  # a terminal, a pager, an e-mailed paste


def _overdue_words(status: FeedStatus) -> str:
    """ "-", the one period overdue, or the count and the first ("48 from 2014/15 Q3")."""
    if not status.overdue:
        return "-"
    if len(status.overdue) == 1:
        return status.overdue[0].label
    return f"{len(status.overdue)} from {status.overdue[0].label}"


def _status_rows(statuses: list[FeedStatus]) -> list[list[str]]:
    """The status table: one short line per feed and partner; detail goes below it."""
    rows = [["feed", "partner", "state", "last period", "next due", "overdue"]]
    for st in statuses:
        state = st.state + (" +quarantine" if st.quarantine_open else "")
        rows.append(
            [
                st.feed,
                st.partner or "-",
                state,
                st.last_period or "-",
                st.next_due.isoformat() if st.next_due else "-",
                _overdue_words(st),
            ]
        )
    return rows


def _status_notes(statuses: list[FeedStatus], verbose: bool) -> list[str]:
    """What the table leaves out, wrapped to the table's width: suspensions, quarantined files
    and, with ``--verbose``, every overdue period with its due date and the receipts."""
    notes = []
    for st in statuses:
        who = feed_and_partner(st)
        if st.state == "suspended" and st.suspension_reason:
            notes.append(f"{who}: suspended since {st.suspended_since}: {st.suspension_reason}")
        if st.quarantine_open:
            notes.append(
                f"{who}: its newest file, {st.last_quarantined}, was quarantined"
                + (f": {st.last_quarantine_reason}" if st.last_quarantine_reason else "")
            )
        if verbose and st.overdue:
            notes.append(
                f"{who}: overdue "
                + ", ".join(f"{p.label} (due {p.due.isoformat()})" for p in st.overdue)
            )
        if verbose and st.received_by_as_of:
            notes.append(f"{who}: {st.last_period} received {st.received_by_as_of:%Y-%m-%d}")
    return [
        line
        for note in notes
        for line in textwrap.wrap(
            note,
            TABLE_WIDTH,
            subsequent_indent="    ",
            break_long_words=False,
            break_on_hyphens=False,
        )
    ]


def _print_table(rows: list[list[str]], width: int = TABLE_WIDTH) -> None:
    """Columns two spaces apart; the partner column cut short (with an ellipsis) when the
    table would be wider than ``width``."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    if excess > 0:
        widths[1] = max(len(rows[0][1]), widths[1] - excess)
    for row in rows:
        cells = [
            cell if len(cell) <= w else cell[: w - 1] + "\u2026"
            for cell, w in zip(row, widths, strict=True)
        ]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())


def _statuses(settings: Settings) -> list[FeedStatus]:
    """Every feed's status on the as-of date, with its last quarantined file's reason."""
    from ingest.archive_quarantine import quarantine_reasons
    from orchestration.monitor import load_state

    deliveries, _ = load_state(settings)
    statuses = feed_statuses(settings.calendar, deliveries, settings.as_of)
    reasons = quarantine_reasons(settings.home)
    for st in statuses:
        st.last_quarantine_reason = reasons.get(st.last_quarantined or "")
    return statuses


def command_status(args: argparse.Namespace) -> int:
    """Print each feed's delivery status on the as-of date; exit 0, 1 or 2 by the worst."""
    import json

    from ingest.arrivals import unowned_entries, unowned_message

    settings = _settings_of_existing_home(args)
    statuses = _statuses(settings)
    if args.json:
        print(
            json.dumps(
                {
                    "la_code": settings.la_code,
                    "partnership": settings.la_name,
                    "districts": list(settings.districts),
                    "not_taken": unowned_entries(settings.landing),
                    "as_of": settings.as_of.isoformat(),
                    "severity": worst_severity(statuses),
                    "feeds": [st.as_json() for st in statuses],
                },
                indent=2,
            )
        )
    else:
        print(f"Feed status for {settings.la_name} ({settings.la_code}) as of {settings.as_of}")
        _print_table(_status_rows(statuses))
        for line in _status_notes(statuses, args.verbose):
            print(line)
        unowned = unowned_message(settings.landing, unowned_entries(settings.landing))
        if unowned:
            print(unowned)
    return worst_severity(statuses)


def command_monitor(args: argparse.Namespace) -> int:
    """Judge every feed on the as-of date and send the alerts that are due; exit 0, 1 or 2 by
    the worst feed, and 2 when an alert could not be sent."""
    import json

    from orchestration.monitor import run_monitor

    settings = _settings_of_existing_home(args)
    if not settings.alert_urls:
        print(
            "csp monitor: no alert channels configured (set CSP_ALERT_URLS or [alerts] urls "
            "in csp.toml); checking only",
            file=sys.stderr,
        )
    result = run_monitor(settings)
    code = 2 if result.failed else worst_severity(result.statuses)
    if args.json:
        print(
            json.dumps(
                {
                    "la_code": settings.la_code,
                    "partnership": settings.la_name,
                    "as_of": settings.as_of.isoformat(),
                    "severity": code,
                    "feeds": [st.as_json() for st in result.statuses],
                    "sent": [m.title for m, _ in result.sent],
                    "failed": [m.title for m, _ in result.failed],
                },
                indent=2,
            )
        )
        return code
    for status in result.statuses:
        if status.severity:
            overdue = periods_in_words([p.label for p in status.overdue])
            print(
                f"{feed_and_partner(status)}: {status.state}"
                + (f", overdue {overdue}" if overdue else "")
                + (
                    f"; newest file quarantined: {status.last_quarantined}"
                    if status.quarantine_open
                    else ""
                )
            )
    for message, _ in result.sent:
        print(f"sent: {message.title}")
    for message, _ in result.failed:
        print(f"FAILED to send: {message.title}", file=sys.stderr)
    if not result.sent and not result.failed:
        print("nothing new to send")
    return code


def command_report(args: argparse.Namespace) -> int:
    """Write the quarter's report, board pack and analyst exports from the built warehouse."""
    from exports.report import write_quarter_outputs
    from exports.report_model import ReportError
    from orchestration.pipeline import home_lock
    from orchestration.report_run import record_report

    settings = _settings_of_existing_home(args)

    def announce(quarter: str) -> None:
        print(f"Report for {quarter}, the latest quarter with figures as of {settings.as_of}")

    try:
        # dbt docs opens the warehouse: never alongside a build on the same home.
        with home_lock(settings.home, command="csp report"):
            written = write_quarter_outputs(
                settings,
                args.quarter,
                public=args.public,
                interactive=args.interactive,
                announce=announce,
            )
            # The UI shows the quarter's report partition as materialised by this command.
            record_report(settings, args.quarter, written)
    except ReportError as error:
        print(f"csp report: {error}", file=sys.stderr)
        return EXIT_USAGE
    for name, path in written.items():
        if not name.startswith(("marts/", "docs/")):
            print(f"  {name:<14}{path} ({path.stat().st_size:,} bytes)")
    print(f"  marts         {settings.exports / 'marts'} (Parquet and CSV)")
    print(f"  dbt docs      {settings.exports / 'docs' / 'static_index.html'} (or: csp docs)")
    return EXIT_OK


def command_doctor(args: argparse.Namespace) -> int:
    """Check a home as ``dbt debug`` checks a project; exit 1 when something needs fixing."""
    from orchestration.doctor import print_checks, run_doctor

    return print_checks(run_doctor(args.home, args.as_of, args.la_code))


def command_docs(args: argparse.Namespace) -> int:
    """Serve the home's dbt documentation site over HTTP, generating it first if need be."""
    from exports.analyst import write_dbt_docs
    from orchestration.docs_server import serve_docs
    from orchestration.pipeline import home_lock

    settings = _settings_of_existing_home(args)
    folder = settings.exports / "docs"
    if args.generate or not (folder / "index.html").is_file():
        if not settings.warehouse.exists() and settings.target == "duckdb":
            print("csp docs: nothing built yet: run `csp build` first", file=sys.stderr)
            return EXIT_FAILED
        print(f"Generating the dbt docs into {folder}", flush=True)
        # dbt docs opens the warehouse: never alongside a build on the same home.
        with home_lock(settings.home, command="csp docs"):
            write_dbt_docs(settings, folder)
    serve_docs(folder, args.host, args.port, lambda line: print(line, flush=True))
    return EXIT_OK


def ui_command(args: argparse.Namespace, settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The ``dagster dev`` command line and environment that serve the UI over a home."""
    from orchestration.location import dagster_dev_argv

    env = dict(os.environ, CSP_HOME=str(settings.home), DAGSTER_HOME=str(settings.dagster_home))
    # The UI's runs resolve their settings from the environment, as the command line did.
    for name, value in (("CSP_AS_OF", args.as_of), ("CSP_PARTNERSHIP", args.la_code)):
        if value:
            env[name] = value
    argv = dagster_dev_argv(settings.dagster_home, args.host, args.port)
    return argv, env


def command_ui(args: argparse.Namespace) -> int:
    """Serve Dagster's UI over the home, with its ``dagster.yaml`` written for where it is now."""
    settings = _settings_of_existing_home(args)
    # The file names the event log's absolute path: a moved or copied home still names the
    # old one until it is rewritten, and Dagster would keep its runs' events there.
    write_instance_yaml(settings.dagster_home)
    argv, env = ui_command(args, settings)
    print(f"Dagster UI over {settings.home}: http://{args.host}:{args.port}", flush=True)
    os.execve(argv[0], argv, env)  # Dagster's own signal handling then stops its processes


def _add_common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--home", help="the partnership's folder (or CSP_HOME)")
    command.add_argument(
        "--as-of",
        help="'today' for every due-date decision, YYYY-MM-DD (or CSP_AS_OF; default today)",
    )
    command.add_argument(
        "--partnership",
        "--la-code",
        dest="la_code",
        metavar="CODE",
        help="the partnership: a CSP code (e.g. E22000369) or a district "
        "code (e.g. E08000031); or CSP_PARTNERSHIP, or what csp.toml "
        "remembers from the home's first build",
    )


def _add_log_level(parser: argparse.ArgumentParser, default: str | None) -> None:
    """``--log-level`` before or after the command, as dbt and Dagster take their globals: on
    a command's parser its default is SUPPRESS, so an absent one leaves the main parser's."""
    parser.add_argument(
        "--log-level",
        default=default if default is not None else argparse.SUPPRESS,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Dagster's and dbt's log level on the console (default WARNING)",
    )


def version_text() -> str:
    """``csp --version``: this project's version and the stack's, as ``dbt --version`` lists."""
    from importlib.metadata import PackageNotFoundError, version

    def of(package: str) -> str:
        try:
            return version(package)
        except PackageNotFoundError:
            return "not installed"

    parts = ", ".join(
        f"{name} {of(name)}" for name in ("dagster", "dbt-core", "dbt-duckdb", "duckdb")
    )
    return f"csp-warehouse {of('csp-warehouse')} ({parts}; Python {sys.version.split()[0]})"


# Each command: its one-line help, what it does, and examples (shown by `csp COMMAND --help`).
COMMANDS: dict[str, tuple[str, str, list[str]]] = {
    "build": (
        "run the whole pipeline once over HOME/landing",
        "Load every new file waiting in HOME/landing (checked against its feed's contract; a "
        "bad file is quarantined with its reason and loses nothing already loaded), rebuild "
        "the warehouse with dbt, publish the readers' copy and write indicators.csv. Makes "
        "the home on its first run.",
        [
            "csp build --home /srv/csp --partnership E22000369",
            "csp build --home /srv/csp --as-of 2014-12-04 --strict",
        ],
    ),
    "ingest": (
        "load landing into the raw layer only",
        "Load and check what waits in HOME/landing, without dbt or exports: the next build "
        "takes it from there.",
        ["csp ingest --home /srv/csp"],
    ),
    "status": (
        "each feed's delivery status on a date (exit 0 on time, 1 late, 2 stopped)",
        "Judge every feed's delivery calendar on the as-of date, reading nothing but the "
        "warehouse's delivery log. Exits as monitoring plugins do: 0 when every feed is on "
        "time (or suspended, or not started), 1 when a period is late or a feed's newest file "
        "was quarantined, 2 when a feed has stopped (two or more periods overdue).",
        [
            "csp status --home /srv/csp",
            "csp status --home /srv/csp --as-of 2014-12-04 --verbose",
            "csp status --home /srv/csp --json | jq '.feeds[] | select(.severity > 0)'",
        ],
    ),
    "monitor": (
        "send the alerts that are due (exit 0, 1 or 2 as status)",
        "Judge every feed as `csp status` does and send each alert once to every configured "
        "channel (CSP_ALERT_URLS or [alerts] urls): newly overdue periods, recoveries, "
        "quarantined files. Exits as `csp status`, and 2 when an alert could not be sent.",
        [
            "csp monitor --home /srv/csp",
            "csp monitor --home /srv/csp --json",
        ],
    ),
    "template": (
        "a pre-filled partner return workbook",
        "Write the quarterly return workbook for one partner, ready to fill in and drop back "
        "into landing/partner_returns/.",
        ['csp template --partner probation --quarter "2014/15 Q3" --home /srv/csp'],
    ),
    "report": (
        "the quarter's report, board pack and exports",
        "Write the quarter's HTML report, the board pack (Excel) and the analysts' exports "
        "from the published warehouse. Without --quarter, the latest quarter that has ended "
        "by the as-of date with any figure.",
        [
            "csp report --home /srv/csp",
            'csp report --home /srv/csp --quarter "2014/15 Q2" --public',
        ],
    ),
    "rekey": (
        "rotate a pseudonymisation key (from the archive)",
        "Re-derive every token of one key from the archived deliveries under the new key "
        "(from CSP_PSEUDO_KEY_<NAME>_NEXT), then rebuild. SECURITY.md has the whole procedure.",
        ["csp rekey treatment --home /srv/csp", "csp rekey offenders --home /srv/csp --no-build"],
    ),
    "ui": (
        "Dagster's UI over the home (dagster dev)",
        "Serve Dagster's UI and daemon over the home: its assets, runs, schedules and the "
        "landing sensor.",
        ["csp ui --home /srv/csp", "csp ui --home /srv/csp --port 3001"],
    ),
    "docs": (
        "serve the dbt documentation site of the home",
        "Serve the dbt docs (models, columns, tests, lineage from each mart to its feed) on a "
        "local address, as `dbt docs serve` does; generated first when the home has none.",
        ["csp docs --home /srv/csp", "csp docs --home /srv/csp --port 8081 --generate"],
    ),
    "doctor": (
        "check a home: configuration, keys, landing, warehouse, lock, alerts",
        "Check that a home is ready to build, as `dbt debug` checks a project, and say what "
        "to fix. Reads only. Exits 1 when something needs fixing.",
        ["csp doctor --home /srv/csp"],
    ),
    "demo": (
        "build the Wolverhampton 2014 demonstration",
        "Write the demonstration's partner files into a home and build it as of 4 December "
        "2014, then check the figures against the published 2014 report.",
        ["csp demo", "csp demo --home /tmp/demo-home"],
    ),
}


def _command(
    commands: argparse._SubParsersAction, name: str, handler: object
) -> argparse.ArgumentParser:
    """A command's parser with its help, description, examples and the global options."""
    summary, description, examples = COMMANDS[name]
    command = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + "\n".join(f"  {e}" for e in examples),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_log_level(command, None)
    command.set_defaults(handler=handler)
    return command


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``csp`` command."""
    parser = argparse.ArgumentParser(
        prog="csp",
        description="Community Safety Partnership data warehouse: partner files and public "
        "data in, trusted quarterly indicators, alerts and reports out.",
        epilog="Run `csp COMMAND --help` for a command's options and examples. "
        "Start with `csp demo`, or `csp doctor --home DIR` on a home of your own.",
    )
    # Answered in main before parsing (a command is otherwise required); listed for --help.
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    _add_log_level(parser, "WARNING")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = _command(commands, "build", command_build)
    _add_common(build)
    build.add_argument(
        "--strict", action="store_true", help="exit non-zero when any file was quarantined"
    )
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild the incremental models (police crimes) from every row, "
        "e.g. after an upgrade that changed their columns",
    )

    ingest = _command(commands, "ingest", command_ingest)
    _add_common(ingest)
    ingest.add_argument(
        "--strict", action="store_true", help="exit non-zero when any file was quarantined"
    )

    status = _command(commands, "status", command_status)
    _add_common(status)
    status.add_argument("--json", action="store_true", help="print JSON, feeds by id")
    status.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also list every overdue period with its due date, and when each was received",
    )

    monitor = _command(commands, "monitor", command_monitor)
    _add_common(monitor)
    monitor.add_argument(
        "--json", action="store_true", help="print JSON: each feed, what was sent and failed"
    )

    template = _command(commands, "template", command_template)
    template.add_argument("--partner", required=True, help="probation, iom, gangs, courts or yot")
    template.add_argument("--quarter", required=True, help="e.g. '2014/15 Q3'")
    template.add_argument("--home", help="write into HOME/exports/templates/")
    template.add_argument("--output", help="folder to write into (default: here, or the home)")

    report = _command(commands, "report", command_report)
    _add_common(report)
    report.add_argument(
        "--quarter",
        help='financial quarter, e.g. "2014/15 Q2" (default: the latest with figures)',
    )
    report.add_argument(
        "--public",
        action="store_true",
        help="also write the public report and CSV (small counts protected)",
    )
    report.add_argument(
        "--interactive",
        action="store_true",
        help="also write each report's interactive version (plotly charts, ~5 MB; needs scripts)",
    )

    rekey = _command(commands, "rekey", command_rekey)
    rekey.add_argument(
        "domain",
        help="the key to rotate: domestic_abuse, treatment or offenders, or a linked "
        "group's key, e.g. offenders+treatment",
    )
    _add_common(rekey)
    rekey.add_argument(
        "--no-build",
        action="store_true",
        help="re-key the raw layer only; the marts follow at the next build",
    )

    ui = _command(commands, "ui", command_ui)
    _add_common(ui)
    ui.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port to serve on (default 3000)")

    docs = _command(commands, "docs", command_docs)
    _add_common(docs)
    docs.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    docs.add_argument("--port", type=int, default=8080, help="port to serve on (default 8080)")
    docs.add_argument(
        "--generate", action="store_true", help="generate the docs again from the warehouse"
    )

    doctor = _command(commands, "doctor", command_doctor)
    _add_common(doctor)

    demo = _command(commands, "demo", command_demo)
    demo.add_argument(
        "--home", default="demo-home", help="folder for the demo (default ./demo-home)"
    )

    from orchestration.db import (
        add_db_commands,  # csp db init (Postgres roles and schemas)
    )

    add_db_commands(commands)
    return parser


def _exception_name(error: BaseException) -> str:
    """``module.Class`` of an exception, as a reader would look it up (``duckdb.IOException``)."""
    module = type(error).__module__.lstrip("_")
    name = type(error).__qualname__
    return name if module == "builtins" else f"{module}.{name}"


def _report_unexpected(args: argparse.Namespace, error: Exception) -> None:
    """One paragraph on stderr for an error no message was written for (its traceback under
    ``--log-level DEBUG``)."""
    text = str(error).strip()
    first_line = text.splitlines()[0].rstrip() if text else "(no message)"
    if not first_line.endswith((".", "!", "?")):
        first_line += "."
    log_path = getattr(error, "csp_log_path", None)
    debug = args.log_level == "DEBUG"
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    print(
        f"csp {args.command} failed on an unexpected error: "
        f"{_exception_name(error)}: {first_line}"
        + (f" The build's log so far is in {log_path}." if log_path else "")
        + (
            " The traceback is above."
            if debug
            else f" Run it again as `csp --log-level DEBUG {args.command} ...` to see the "
            "traceback."
        )
        + " If the cause is not clear from these, send them to whoever looks after "
        "csp-warehouse for the partnership.",
        file=sys.stderr,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``csp`` console script.

    Every failure ends in a paragraph on stderr and exit code 1 (2 for a usage or
    configuration mistake); a traceback is printed only under ``--log-level DEBUG``.
    """
    limit_malloc_arenas()  # before any thread starts (orchestration/memory.py says why)
    arguments = list(sys.argv[1:] if argv is None else argv)
    before_command = arguments[: next((n for n, a in enumerate(arguments) if a in COMMANDS), None)]
    if "--version" in before_command:
        # Read only when asked: the package metadata costs a little on every other call.
        print(version_text())
        return EXIT_OK
    args = build_parser().parse_args(arguments)
    try:
        return args.handler(args)
    except BrokenPipeError:
        # The reader went away (`csp status --json | head`): say nothing more, as Unix
        # tools do, and keep Python from complaining when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (ConfigError, MissingKeyError, KeyConfigError) as error:
        print(f"csp {args.command}: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C is how a command waiting for the home lock is given up (pipeline.home_lock).
        again = (
            " Run it again when you are ready: files it had already loaded are not loaded twice."
            if args.command in ("build", "ingest")
            else ""
        )
        print(f"\ncsp {args.command}: stopped by Ctrl-C.{again}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the last resort: a paragraph, not a traceback
        # Looked up, not imported: orchestration.pipeline imports Dagster, which commands
        # such as `csp status` do without; if it is not loaded, it raised nothing.
        pipeline = sys.modules.get("orchestration.pipeline")
        if pipeline is not None and isinstance(error, pipeline.WarehouseUnavailable):
            print(f"csp {args.command}: {error}", file=sys.stderr)
        else:
            _report_unexpected(args, error)
        return EXIT_FAILED


def run() -> NoReturn:
    """The ``csp`` command: ``main``, then an exit without Python's last garbage collection.

    At exit Python looks through every object the command made for cycles to free (Dagster's
    definitions, dbt's manifest, Great Expectations): 1.3 s of a 21 s build, measured, for
    memory the operating system takes back anyway. By then the command has closed its files,
    connections and Dagster instance; ``gc.freeze`` leaves its objects out of that collection,
    and the exit handlers (logging's among them) still run. Not in ``main``, which tests call.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
