"""A feed's delivery calendar: when each period is due, from when, and whether suspended."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


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
        year, month = divmod(period_end.year * 12 + period_end.month - 1
                             + self.due_months_after_period_end, 12)
        month_end = date(year, month + 1, calendar.monthrange(year, month + 1)[1])
        end = month_end if self.due_months_after_period_end else period_end
        return end + timedelta(days=self.due_days_after_period_end)
