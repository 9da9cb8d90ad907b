"""Configuration of one partnership's build: where, as of when, for whom, and its feed calendar.

Precedence: command-line options, then environment (``CSP_HOME``, ``CSP_AS_OF``,
``CSP_PARTNERSHIP`` or ``CSP_LA_CODE``, ``CSP_LA_NAME``), then ``<home>/csp.toml``, then the
feed contracts' defaults (and today, for the as-of date). The first build of a home writes its
partnership into ``csp.toml``, so every later command on it needs no flag.
Nothing here is specific to one partnership: the LA code, its name, due rules and suspensions
are all data.

``csp.toml``::

    [partnership]
    code = "E08000031"      # a CSP code (E22.../W22...) or a district code; la_code is the old name
    name = "Wolverhampton"

    [demonstration]
    # as_of = 2014-12-04   (written by csp demo alone: the day a home of past data is judged
    #                       on when no --as-of or CSP_AS_OF says otherwise; a real
    #                       partnership's home has none, and is judged on today)

    [moj]
    # similar_areas = ["E08000025", "E08000026"]   (optional: ranked together with the
    #                                                partnership in fct_reoffending_comparison)

    [police]
    # lsoa_lookup = "/srv/reference/lsoa_la_lookup.csv"   (optional, default
    #   <home>/reference/lsoa_la_lookup.csv: places the crimes of a force-wide extract)

    [pseudonymisation]
    # link = [["offenders", "treatment"]]   (optional: these domains share one key, so their
    #                                         tokens match; otherwise each has its own)

    [feeds.moj_reoffending]
    suspended_since = 2014-01-01
    suspension_reason = "MoJ: localised data not available until further notice"
    # partner = "Ministry of Justice"   (optional: the name alerts and reports use)
    # calendar_start = 2012-04-01       (optional: expect deliveries from this period)
    # due_days_after_period_end = 150   (optional: override the contract's due rule)
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Any

from core.contracts import all_contracts
from core.feed_calendar import CalendarEntry
from core.settings import (
    CONFIG_FILE,
    ConfigError,
    Settings,
    parse_date,
    read_config_file,
)
from ingest.pseudonymise import LINK_ENV, KeyConfigError, parse_links

# The csp.toml section a demonstration home keeps its as-of date in (orchestration.demo).
DEMONSTRATION_SECTION = "demonstration"


def _calendar_entry(
    feed: str,
    partner: str,
    cadence: str,
    due_days: int,
    options: dict[str, Any],
    where: str,
    due_months: int = 0,
) -> CalendarEntry:
    since = options.get("suspended_since")
    start = options.get("calendar_start")
    if since is not None and not options.get("suspension_reason"):
        raise ConfigError(f"[{where}] suspended_since needs a suspension_reason")
    return CalendarEntry(
        feed=feed,
        partner=partner,
        cadence=cadence,
        due_days_after_period_end=int(options.get("due_days_after_period_end", due_days)),
        due_months_after_period_end=int(options.get("due_months_after_period_end", due_months)),
        calendar_start=parse_date(start, f"[{where}] calendar_start") if start else None,
        suspended_since=parse_date(since, f"[{where}] suspended_since") if since else None,
        suspension_reason=options.get("suspension_reason"),
    )


def feed_calendar(config: dict[str, Any]) -> tuple[CalendarEntry, ...]:
    """Each feed's calendar: the contract's cadence and due rule, overridden by configuration.

    A feed sent by several partners (partner returns) has one calendar per partner, so one
    partner's missing return is late on its own. ``[feeds.<feed>]`` options apply to every
    partner and ``[feeds.<feed>.<partner>]`` to one.
    """
    feeds_config: dict[str, Any] = config.get("feeds", {})
    unknown = set(feeds_config) - set(all_contracts())
    if unknown:
        raise ConfigError(f"[feeds] names unknown feed(s): {', '.join(sorted(unknown))}")
    entries = []
    for feed, contract in all_contracts().items():
        options = feeds_config.get(feed, {})
        if not contract.partners:
            entries.append(
                _calendar_entry(
                    feed,
                    options.get("partner", contract.partner),
                    contract.cadence,
                    contract.due_days_after_period_end,
                    options,
                    f"feeds.{feed}",
                    contract.due_months_after_period_end,
                )
            )
            continue
        shared = {k: v for k, v in options.items() if not isinstance(v, dict)}
        unknown_partners = {k for k, v in options.items() if isinstance(v, dict)} - set(
            contract.partners
        )
        if unknown_partners:
            raise ConfigError(
                f"[feeds.{feed}] names unknown partner(s): {', '.join(sorted(unknown_partners))}"
            )
        for partner in contract.partners:
            entries.append(
                _calendar_entry(
                    feed,
                    partner,
                    contract.cadence,
                    contract.due_days_after_period_end,
                    {**shared, **options.get(partner, {})},
                    f"feeds.{feed}.{partner}",
                    contract.due_months_after_period_end,
                )
            )
    return tuple(entries)


def configured_partnership(config: dict[str, Any]) -> tuple[str | None, str | None]:
    """The partnership code and name ``csp.toml`` remembers (``code``, or the older
    ``la_code``)."""
    partnership = config.get("partnership", {})
    code = partnership.get("code") or partnership.get("la_code")
    return (str(code).strip() if code else None), partnership.get("name")


# The ONS's nine-character GSS codes of the areas a partnership is named by: a Community
# Safety Partnership (E22, W22) or a district (E06 unitary, E07 non-metropolitan, E08
# metropolitan, E09 London borough, W06 Welsh unitary).
GSS_AREA_CODE = re.compile(r"[EW](06|07|08|09|22)\d{6}")


def configured_as_of(config: dict[str, Any]) -> date | None:
    """The as-of date ``csp.toml`` fixes (``[demonstration] as_of``), or None for today.

    The demonstration's data stop in 2014: judged on today, every feed would be years
    overdue, so its home remembers the day it is judged on, and every command and the Dagster
    UI's runs (which resolve their settings from the home) use it unless told otherwise.
    """
    value = config.get(DEMONSTRATION_SECTION, {}).get("as_of")
    if not value:
        return None
    return parse_date(value, f"[{DEMONSTRATION_SECTION}] as_of in {CONFIG_FILE}")


def resolve_partnership(home: Path, code: str) -> tuple[str, str | None, tuple[str, ...]]:
    """(partnership code, name, districts) for a CSP or district code, by the ONS district
    lookup in ``HOME/reference`` when there is one.

    A district code stands for the partnership it belongs to, so a partnership of several
    districts is reported whole whichever of its codes is given. Without a lookup a code is
    a partnership of one district, as before lookups were read.
    """
    # Imported here: the ONS readers bring pyarrow, 0.6 s measured, which every command that
    # loads settings would otherwise pay even on a home with no reference folder.
    from ingest.reference import ReferenceError, read_district_lookup

    try:
        lookup = read_district_lookup(home / "reference")
    except ReferenceError as error:
        raise ConfigError(str(error)) from None
    if lookup is None:
        if not GSS_AREA_CODE.fullmatch(code):
            raise ConfigError(
                f"{code!r} is not a partnership code: pass the ONS (GSS) code of a Community "
                "Safety Partnership (E22.../W22..., e.g. E22000369) or of a local authority "
                "district (E06/E07/E08/E09/W06..., e.g. E08000031), as in the ONS lookup "
                "LAD_to_CSP_to_PFA on the Open Geography Portal; put that lookup in "
                f"{home / 'reference'} to have codes checked against it"
            )
        return code, None, (code,)
    rows = lookup.to_pylist()
    split = _split_districts(rows)
    if code in split:
        name = next(r["la_name"] for r in rows if r["la_code"] == code)
        return code, name, (code,)
    partnerships = {
        r["csp_code"]: r["csp_name"] for r in rows if code in (r["csp_code"], r["la_code"])
    }
    if not partnerships:
        raise ConfigError(
            f"{code} is neither a Community Safety Partnership nor a district in the ONS "
            f"district lookup in {home / 'reference'}: pass a CSP code (E22.../W22...) or a "
            "district code of the lookup's year"
        )
    csp, name = next(iter(partnerships.items()))
    districts = tuple(
        sorted(r["la_code"] for r in rows if r["csp_code"] == csp and r["la_code"] not in split)
    )
    if not districts:
        shared = sorted({r["la_code"] for r in rows if r["csp_code"] == csp})
        raise ConfigError(
            f"{csp} ({name}) shares its only district{'s' if len(shared) > 1 else ''} "
            f"{', '.join(shared)} with other partnerships in the ONS district lookup, which "
            f"cannot divide a district: pass --partnership {shared[0]} to report for the "
            "district whole"
        )
    return csp, name, districts


def _split_districts(rows: list[dict[str, Any]]) -> set[str]:
    """Districts the district lookup places in more than one partnership.

    ONS's December 2019 lookup lists Bournemouth, Christchurch and Poole in three, its CSPs
    not yet merged. A district-level lookup cannot divide it, so it is a partnership of its
    own, as int_districts_partnered (dbt) makes it.
    """
    partnerships: dict[str, set[str]] = {}
    for row in rows:
        partnerships.setdefault(row["la_code"], set()).add(row["csp_code"])
    return {district for district, csps in partnerships.items() if len(csps) > 1}


def remember_partnership(settings: Settings) -> bool:
    """Write the partnership into the home's ``csp.toml`` if it names none yet (the first
    build); True when it did. Other settings in the file are left as they are."""
    code, _ = configured_partnership(settings.raw)
    if code:
        return False
    path = settings.home / CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    lines = [f"code = {_toml_string(settings.la_code)}", f"name = {_toml_string(settings.la_name)}"]
    if "partnership" in settings.raw:
        # A [partnership] table without a code: add the code at its top.
        text = re.sub(r"(?m)^\[partnership\][ \t]*$", "[partnership]\n" + lines[0], text, count=1)
    else:
        header = "# The partnership this home reports for, remembered from its first build.\n"
        text = (
            (text.rstrip("\n") + "\n\n" if text.strip() else "")
            + header
            + "\n".join(["[partnership]", *lines])
            + "\n"
        )
    settings.home.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def _toml_string(value: str) -> str:
    """A TOML basic string (JSON's escaping is TOML's for these characters)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def load_settings(
    home: str | Path | None = None,
    as_of: str | date | None = None,
    la_code: str | None = None,
    la_name: str | None = None,
) -> Settings:
    """Resolve the settings of a build from options, environment and ``csp.toml``.

    ``la_code`` is the partnership asked for (``--partnership``/``--la-code``): a CSP code
    or a district code.
    """
    home_value = home or os.environ.get("CSP_HOME")
    if not home_value:
        raise ConfigError("no home folder: pass --home DIR or set CSP_HOME")
    home_path = Path(home_value).expanduser().resolve()
    config = read_config_file(home_path)
    remembered, remembered_name = configured_partnership(config)
    asked = (
        la_code or os.environ.get("CSP_PARTNERSHIP") or os.environ.get("CSP_LA_CODE") or remembered
    )
    if not asked or not asked.strip():
        raise ConfigError(
            "no partnership: pass --partnership CODE (a CSP code such as E22000369, or a "
            "district code such as E08000031), set CSP_PARTNERSHIP, or set [partnership] "
            f"code in {home_path / CONFIG_FILE}"
        )
    code, lookup_name, districts = resolve_partnership(home_path, asked.strip())
    # A name configured for another partnership must not label this one.
    configured_name = remembered_name if remembered in (None, code, asked.strip()) else None
    name = la_name or os.environ.get("CSP_LA_NAME") or configured_name or lookup_name or code
    as_of_value = as_of or os.environ.get("CSP_AS_OF") or configured_as_of(config) or date.today()
    urls = os.environ.get("CSP_ALERT_URLS")
    alert_urls = (
        tuple(u.strip() for u in urls.split(",") if u.strip())
        if urls
        else tuple(config.get("alerts", {}).get("urls", []))
    )
    stable = os.environ.get("CSP_STABLE_SECONDS") or config.get("landing", {}).get(
        "stable_seconds", 2
    )
    target = (
        (os.environ.get("CSP_TARGET") or config.get("warehouse", {}).get("target") or "duckdb")
        .strip()
        .lower()
    )
    if target not in ("duckdb", "postgres"):
        raise ConfigError(f"CSP_TARGET must be duckdb or postgres, not {target!r}")
    try:
        links = parse_links(
            os.environ.get(LINK_ENV) or config.get("pseudonymisation", {}).get("link")
        )
    except KeyConfigError as error:
        raise ConfigError(f"{LINK_ENV} / [pseudonymisation] link: {error}") from None
    return Settings(
        pseudonym_links=links,
        target=target,
        pg_dsn=os.environ.get("CSP_PG_DSN", ""),
        pg_loader_role=os.environ.get("CSP_PG_LOADER_ROLE", "csp_loader"),
        pg_transformer_role=os.environ.get("CSP_PG_TRANSFORMER_ROLE", "csp_transformer"),
        stable_seconds=float(stable),
        home=home_path,
        as_of=parse_date(as_of_value, "--as-of / CSP_AS_OF"),
        la_code=code,
        la_name=name,
        districts=districts,
        calendar=feed_calendar(config),
        alert_urls=alert_urls,
        raw=config,
    )
