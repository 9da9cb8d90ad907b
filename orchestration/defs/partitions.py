"""The partitions of the quarterly report."""

import dagster as dg

# Financial-year quarters (docs/architecture.md, facts about the stack): 2014-07-01 is 2014/15 Q2.
QUARTERS = dg.TimeWindowPartitionsDefinition(
    start="2012-04-01",
    cron_schedule="0 0 1 1,4,7,10 *",
    fmt="%Y-%m-%d",
    timezone="Europe/London",
)
