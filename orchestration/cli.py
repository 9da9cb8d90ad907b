"""The ``csp`` command line.

csp build --home DIR [--as-of YYYY-MM-DD] [--partnership CODE] [--strict] [--full-refresh]
csp ingest  --home DIR [--partnership CODE] [--strict]
csp status  --home DIR [--as-of YYYY-MM-DD] [--json]
csp monitor --home DIR [--as-of YYYY-MM-DD]
csp template --partner NAME --quarter "2014/15 Q3" [--home DIR | --output DIR]
csp demo  [--home DIR]
csp report  --home DIR --quarter "2014/15 Q2" [--public] [--interactive]
csp rekey   DOMAIN --home DIR [--no-build]
csp ui      --home DIR [--port 3000] [--host 127.0.0.1]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from core.settings import ConfigError, Settings
from ingest.pseudonymise import KeyConfigError, MissingKeyError
from orchestration.config import load_settings
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

    settings = load_settings(args.home, args.as_of, args.la_code)
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

    settings = load_settings(args.home, args.as_of, args.la_code)
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
        print(f"\nOpen the Dagster UI on this home with: make dev  (or: csp ui --home {home})")
    return EXIT_OK if result.success else EXIT_FAILED


def _status_rows(statuses: list) -> list[list[str]]:
    rows = [["feed", "partner", "last delivered", "next due", "overdue", "state", "quarantined"]]
    for st in statuses:
        received = f" ({st.last_received:%Y-%m-%d})" if st.last_received else ""
        overdue = ", ".join(f"{p.label} (due {p.due})" for p in st.overdue) or "-"
        state = st.state + (f": {st.suspension_reason}" if st.state == "suspended" else "")
        rows.append(
            [
                st.feed,
                st.partner or "",
                (st.last_period or "-") + received,
                f"{st.next_period} by {st.next_due}" if st.next_period else "-",
                overdue,
                state,
                st.last_quarantined or "-",
            ]
        )
    return rows


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def command_status(args: argparse.Namespace) -> int:
    """Print each feed's delivery status on the as-of date."""
    import json

    from core.feed_status import feed_statuses
    from ingest.archive_quarantine import quarantine_reasons
    from ingest.arrivals import unowned_entries, unowned_message
    from orchestration.monitor import load_state

    settings = load_settings(args.home, args.as_of, args.la_code)
    deliveries, _ = load_state(settings)
    statuses = feed_statuses(settings.calendar, deliveries, settings.as_of)
    reasons = quarantine_reasons(settings.home)
    for st in statuses:
        st.last_quarantine_reason = reasons.get(st.last_quarantined or "")
    if args.json:
        print(
            json.dumps(
                {
                    "la_code": settings.la_code,
                    "partnership": settings.la_name,
                    "districts": list(settings.districts),
                    "not_taken": unowned_entries(settings.landing),
                    "as_of": settings.as_of.isoformat(),
                    "feeds": [st.as_json() for st in statuses],
                },
                indent=2,
            )
        )
    else:
        print(f"Feed status for {settings.la_name} ({settings.la_code}) as of {settings.as_of}")
        _print_table(_status_rows(statuses))
        unowned = unowned_message(settings.landing, unowned_entries(settings.landing))
        if unowned:
            print(unowned)
    return EXIT_OK


def command_monitor(args: argparse.Namespace) -> int:
    """Judge every feed on the as-of date and send the alerts that are due."""
    from orchestration.monitor import run_monitor

    settings = load_settings(args.home, args.as_of, args.la_code)
    if not settings.alert_urls:
        print(
            "csp monitor: no alert channels configured (set CSP_ALERT_URLS or [alerts] urls "
            "in csp.toml); checking only",
            file=sys.stderr,
        )
    result = run_monitor(settings)
    for status in result.statuses:
        if status.overdue and status.state != "suspended":
            print(
                f"{status.feed}: {status.state}, overdue "
                + ", ".join(p.label for p in status.overdue)
            )
    for message, _ in result.sent:
        print(f"sent: {message.title}")
    for message, _ in result.failed:
        print(f"FAILED to send: {message.title}", file=sys.stderr)
    if not result.sent and not result.failed:
        print("nothing new to send")
    return EXIT_FAILED if result.failed else EXIT_OK


def command_report(args: argparse.Namespace) -> int:
    """Write the quarter's report, board pack and analyst exports from the built warehouse."""
    from exports.report import write_quarter_outputs
    from exports.report_model import ReportError
    from orchestration.pipeline import home_lock

    settings = load_settings(args.home, args.as_of, args.la_code)
    try:
        # dbt docs opens the warehouse: never alongside a build on the same home.
        with home_lock(settings.home, command="csp report"):
            written = write_quarter_outputs(
                settings, args.quarter, public=args.public, interactive=args.interactive
            )
    except ReportError as error:
        print(f"csp report: {error}", file=sys.stderr)
        return EXIT_USAGE
    for name, path in written.items():
        if not name.startswith(("marts/", "docs/")):
            print(f"  {name:<14}{path} ({path.stat().st_size:,} bytes)")
    print(f"  marts         {settings.exports / 'marts'} (Parquet and CSV)")
    print(f"  dbt docs      {settings.exports / 'docs' / 'static_index.html'}")
    return EXIT_OK


def ui_command(args: argparse.Namespace, settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The ``dagster dev`` command line and environment that serve the UI over a home."""
    env = dict(os.environ, CSP_HOME=str(settings.home), DAGSTER_HOME=str(settings.dagster_home))
    # The UI's runs resolve their settings from the environment, as the command line did.
    for name, value in (("CSP_AS_OF", args.as_of), ("CSP_PARTNERSHIP", args.la_code)):
        if value:
            env[name] = value
    dagster = str(Path(sys.executable).parent / "dagster")
    argv = [
        dagster,
        "dev",
        "-m",
        "orchestration.definitions",
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    return argv, env


def command_ui(args: argparse.Namespace) -> int:
    """Serve Dagster's UI over the home, with its ``dagster.yaml`` written for where it is now."""
    settings = load_settings(args.home, args.as_of, args.la_code)
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every ``csp`` command."""
    parser = argparse.ArgumentParser(
        prog="csp", description="Community Safety Partnership data warehouse."
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Dagster's log level on the console (default WARNING)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="run the whole pipeline once over HOME/landing")
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
    build.set_defaults(handler=command_build)

    ingest = commands.add_parser("ingest", help="load landing into the raw layer only")
    _add_common(ingest)
    ingest.add_argument(
        "--strict", action="store_true", help="exit non-zero when any file was quarantined"
    )
    ingest.set_defaults(handler=command_ingest)

    status = commands.add_parser("status", help="each feed's delivery status on a date")
    _add_common(status)
    status.add_argument("--json", action="store_true", help="print JSON, feeds by id")
    status.set_defaults(handler=command_status)

    monitor = commands.add_parser("monitor", help="send the alerts that are due")
    _add_common(monitor)
    monitor.set_defaults(handler=command_monitor)

    template = commands.add_parser("template", help="a pre-filled partner return workbook")
    template.add_argument("--partner", required=True, help="probation, iom, gangs, courts or yot")
    template.add_argument("--quarter", required=True, help="e.g. '2014/15 Q3'")
    template.add_argument("--home", help="write into HOME/exports/templates/")
    template.add_argument("--output", help="folder to write into (default: here, or the home)")
    template.set_defaults(handler=command_template)

    report = commands.add_parser("report", help="the quarter's report, board pack and exports")
    _add_common(report)
    report.add_argument("--quarter", required=True, help='financial quarter, e.g. "2014/15 Q2"')
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
    report.set_defaults(handler=command_report)

    rekey = commands.add_parser("rekey", help="rotate a pseudonymisation key (from the archive)")
    rekey.add_argument(
        "domain",
        help="domestic_abuse, treatment or offenders (or a linked "
        "group's key, e.g. offenders+treatment)",
    )
    _add_common(rekey)
    rekey.add_argument(
        "--no-build",
        action="store_true",
        help="re-key the raw layer only; the marts follow at the next build",
    )
    rekey.set_defaults(handler=command_rekey)

    ui = commands.add_parser("ui", help="Dagster's UI over the home (dagster dev)")
    _add_common(ui)
    ui.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=3000, help="port to serve on (default 3000)")
    ui.set_defaults(handler=command_ui)

    demo = commands.add_parser("demo", help="build the Wolverhampton 2014 demonstration")
    demo.add_argument(
        "--home", default="demo-home", help="folder for the demo (default ./demo-home)"
    )
    demo.set_defaults(handler=command_demo)

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
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, MissingKeyError, KeyConfigError) as error:
        print(f"csp: {error}", file=sys.stderr)
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
