"""Asset checks: is each feed's partner delivering on time?

One check per feed contract, built on the first call of ``delivery_checks`` (cached), not at
import. ``DELIVERY_CHECKS`` names the same list, built when it is first imported.
"""

from functools import cache
from typing import Any

import dagster as dg

from core.contracts import FeedContract, all_contracts
from core.feed_status import FeedStatus, feed_statuses
from orchestration.defs.assets import raw_key
from orchestration.defs.resources import POOL, CspResource
from orchestration.monitor import load_state


def build_delivery_check(contract: FeedContract) -> dg.AssetChecksDefinition:
    """Fails when a period of the feed is overdue; warns within three days of a due date."""

    @dg.asset_check(
        asset=raw_key(contract.tables[0].name),
        name=f"{contract.feed}_on_time",
        description=f"{contract.feed} has delivered every period past its due date "
        f"(due {contract.due_days_after_period_end} days after the period ends).",
        pool=POOL,
        blocking=False,
    )
    def _check(csp: CspResource) -> dg.AssetCheckResult:
        settings = csp.settings()
        deliveries, _ = load_state(settings)
        entries = [e for e in settings.calendar if e.feed == contract.feed]
        # One status per calendar: per partner where each partner sends on its own.
        statuses = feed_statuses(entries, deliveries, settings.as_of)

        def name(status: FeedStatus) -> str:
            return status.feed if len(statuses) == 1 else f"{status.feed}:{status.partner}"

        metadata = {
            "as_of": settings.as_of.isoformat(),
            "state": ", ".join(f"{name(st)} {st.state}" for st in statuses),
            "next_due": ", ".join(
                f"{name(st)} {st.next_period} by {st.next_due}" for st in statuses if st.next_due
            )
            or "",
            "overdue": ", ".join(
                f"{name(st)} {p.label} (due {p.due})" for st in statuses for p in st.overdue
            )
            or "none",
        }
        if any(st.state in ("late", "stopped") for st in statuses):
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata=metadata
            )
        if any(st.due_soon for st in statuses):
            return dg.AssetCheckResult(
                passed=False, severity=dg.AssetCheckSeverity.WARN, metadata=metadata
            )
        return dg.AssetCheckResult(passed=True, metadata=metadata)

    return _check


@cache
def delivery_checks() -> tuple[dg.AssetChecksDefinition, ...]:
    """The on-time check of every feed contract (read on the first call)."""
    return tuple(build_delivery_check(c) for c in all_contracts().values())


def __getattr__(name: str) -> Any:
    """``DELIVERY_CHECKS``: ``delivery_checks()``, built when first asked for (PEP 562), so
    that importing this module reads no contract."""
    if name == "DELIVERY_CHECKS":
        return list(delivery_checks())
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
