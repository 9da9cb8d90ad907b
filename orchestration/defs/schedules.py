"""Schedules: the morning monitor, and the quarter's report on its fifth working day."""

from datetime import date, timedelta

import dagster as dg

from core.periods import parse_quarter_label, quarter_label
from orchestration.defs.jobs import monitor_job, report_job


@dg.schedule(
    job=monitor_job,
    cron_schedule="0 7 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every morning at 07:00 (UK time): is any partner file overdue?",
)
def morning_monitor(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The day's check; the as-of date is the scheduled day (so a late tick judges its day)."""
    day = context.scheduled_execution_time.date().isoformat()
    return dg.RunRequest(
        run_key=f"monitor:{day}",
        run_config={"ops": {"feed_monitor": {"config": {"as_of": day}}}},
    )


def working_day_of_month(day: date) -> int:
    """1 for the month's first weekday, 2 for the second... (bank holidays not counted out)."""
    return sum(1 for d in range(1, day.day + 1) if date(day.year, day.month, d).weekday() < 5)


@dg.schedule(
    job=report_job,
    # Weekdays early in the month after each quarter: the function picks the fifth.
    cron_schedule="0 8 1-10 1,4,7,10 1-5",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The quarter's report on the fifth working day after it ends.",
)
def quarterly_report_schedule(
    context: dg.ScheduleEvaluationContext,
) -> dg.RunRequest | dg.SkipReason:
    """Report the quarter just ended, on the fifth working day of the next month."""
    day = context.scheduled_execution_time.date()
    if working_day_of_month(day) != 5:
        return dg.SkipReason(f"{day} is not the fifth working day of the month")
    ended = parse_quarter_label(quarter_label(day.replace(day=1) - timedelta(days=1)))
    return dg.RunRequest(
        run_key=f"report:{ended.start:%Y-%m-%d}", partition_key=ended.start.strftime("%Y-%m-%d")
    )
