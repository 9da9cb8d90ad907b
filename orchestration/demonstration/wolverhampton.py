"""The bundled Wolverhampton demonstration, as of 4 December 2014.

Calibrated by construction so that the figures published in the partnership's scrutiny report
of 4 December 2014 (``docs/indicators.md``; checked by ``orchestration/demo.py``) come out
exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from core.periods import first_of_month, quarters_between
from orchestration.demonstration.common import season
from orchestration.demonstration.landing import generate_landing
from orchestration.demonstration.model import Calibration, GroundTruth
from orchestration.demonstration.partner_returns import (
    partner_return_figures,
    write_partner_returns,
)

# The published figures of the report of 4 December 2014 (docs/indicators.md).
DEMO_LA_CODE = "E08000031"
DEMO_LA_NAME = "Wolverhampton"
DEMO_SEED = 20141204
DEMO_FIRST_MONTH = date(2012, 4, 1)
DEMO_LAST_MONTH = date(2014, 10, 1)  # November's files are not due until mid-December
DEMO_MOJ_UNTIL = date(2013, 12, 1)  # the Ministry sent nothing after 2013/14 Q3
PPV_APR_OCT_2013 = 637
PPV_APR_OCT_2014 = 744  # +107, +16.8%
DA_H1_2013 = 1100
DA_H1_2014 = 1551  # +41.0%
IDVA_HIGH_H1_2014 = 205
SCREENED_H1_2014 = 1354
RR_DIFF_2013_Q3 = -18.3


# The 4 December 2014 report: (numerator, denominator) or value, for 2014/15 Q1 and Q2.
_DEMO_RETURNS: dict[str, dict[str, tuple[int, int] | int]] = {
    # 42 / 94 = 44.7% year to date (target 45%: Amber)
    "RR_EMPLOYMENT": {"2014/15 Q1": (20, 46), "2014/15 Q2": (22, 48)},
    # 70 / 81 = 86.4% year to date (target 87%: Amber)
    "RR_ACCOMMODATION": {"2014/15 Q1": (35, 40), "2014/15 Q2": (35, 41)},
    # IOM cohort managed in Q1 and Q2 ('latest': the Q2 figure is the year to date)
    "RR_IOM_PROLIFIC": {"2014/15 Q1": 66, "2014/15 Q2": 68},
    "RR_IOM_HCCU": {"2014/15 Q1": 57, "2014/15 Q2": 60},
    "RR_IOM_DA": {"2014/15 Q1": 8, "2014/15 Q2": 10},
    "RR_IOM_GANG": {"2014/15 Q1": 41, "2014/15 Q2": 39},
    # 7 referrals to gang exit services, 4 crisis call-outs, year to date
    "GY_GANG_REFERRALS": {"2014/15 Q1": 3, "2014/15 Q2": 4},
    "GY_CRISIS_CALLOUTS": {"2014/15 Q1": 1, "2014/15 Q2": 3},
    # 175 / 250 = 70.0% successful prosecutions year to date
    "VA_PROSECUTION_SUCCESS": {"2014/15 Q1": (84, 120), "2014/15 Q2": (91, 130)},
}


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Split an exact total over buckets in proportion to weights (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _demo_calibration() -> Calibration:
    """The report's figures, spread over their months with the seasonal shape."""

    def spread(first: date, n: int, total: int) -> dict[date, int]:
        ms = [first_of_month(first, k) for k in range(n)]
        # Seasonal shape with a little fixed irregularity so months do not look planned.
        jitter = [1.0, 1.03, 0.97, 1.02, 0.99, 1.01, 0.98]
        return dict(
            zip(
                ms,
                _split(total, [season(m) * jitter[k % 7] for k, m in enumerate(ms)]),
                strict=True,
            )
        )

    return Calibration(
        ppv_by_month={
            **spread(date(2013, 4, 1), 7, PPV_APR_OCT_2013),
            **spread(date(2014, 4, 1), 7, PPV_APR_OCT_2014),
        },
        da_by_month={
            **spread(date(2013, 4, 1), 6, DA_H1_2013),
            **spread(date(2014, 4, 1), 6, DA_H1_2014),
        },
        idva_high_by_quarter={"2014/15 Q1": 101, "2014/15 Q2": 104},
        screened_by_month=spread(date(2014, 4, 1), 6, SCREENED_H1_2014),
        # 1,746 offenders; predicted 13.77%; 18.3% below (actual 11.25%), significant.
        moj_own={date(2013, 12, 1): (1746, 13.77, RR_DIFF_2013_Q3)},
        repeat_rate=0.29,
    )


def write_demo_landing(landing: Path) -> GroundTruth:
    """Write the bundled Wolverhampton demonstration: every file due by 4 December 2014.

    Police and treatment months 2012-04 to 2014-10, IDVA quarters 2012/13 Q1 to 2014/15 Q2,
    MoJ tables 2012-06 to 2013-12. Calibrated so that the report's published figures come
    out exactly under the latest-row-wins rules.
    """
    truth = generate_landing(
        landing,
        la_code=DEMO_LA_CODE,
        la_name=DEMO_LA_NAME,
        first_month=DEMO_FIRST_MONTH,
        last_month=DEMO_LAST_MONTH,
        seed=DEMO_SEED,
        calibration=_demo_calibration(),
        moj_until=DEMO_MOJ_UNTIL,
    )
    # Every partner's return from 2012/13 Q1 to 2014/15 Q2 (Q3's are due in January).
    quarters = quarters_between("2012/13 Q1", "2014/15 Q2")
    figures = partner_return_figures(quarters, DEMO_SEED, _DEMO_RETURNS)
    truth.files["partner_returns"] = write_partner_returns(landing, figures, quarters)
    for code, by_quarter in figures.items():
        truth.indicators[code] = dict(by_quarter)
    return truth
