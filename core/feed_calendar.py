"""A feed's delivery calendar: when each period is due, from when, and whether suspended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.periods import first_of_month, last_of_month


@dataclass(frozen=True)
class CalendarEntry:
    """A feed's delivery calendar as configured for the partnership."""

    feed: str
    partner: str | None
    cadence: str
    due_days_after_period_end: int
    calendar_start: date | None = None
    suspended_since: date | None = None
    suspension_reason: str | None = None
    due_months_after_period_end: int = 0

    def due_date(self, period_end: date) -> date:
        """When a period ending ``period_end`` is due: the end of the month ``N`` months on
        (``due_months_after_period_end``), then ``due_days_after_period_end`` days more."""
        month_end = last_of_month(first_of_month(period_end, self.due_months_after_period_end))
        end = month_end if self.due_months_after_period_end else period_end
        return end + timedelta(days=self.due_days_after_period_end)
