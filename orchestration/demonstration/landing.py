"""A landing folder of synthetic deliveries for the record-level feeds, with its ground truth.

One random stream per feed, each generator drawing from its own, so the same arguments always
give the same bytes, and asking for fewer feeds does not change the others.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from orchestration.demonstration.common import months_between, whole_quarters
from orchestration.demonstration.idva import generate_idva, write_idva
from orchestration.demonstration.model import Calibration, GroundTruth
from orchestration.demonstration.moj import write_moj
from orchestration.demonstration.police import generate_police, police_truth, write_police
from orchestration.demonstration.treatment import (
    generate_treatment,
    treatment_rows,
    treatment_truth,
    write_treatment,
)

FEEDS: tuple[str, ...] = ("police_crime", "rny_treatment", "idva_caseload", "moj_reoffending")
ALL = FEEDS


def generate_landing(
    landing: Path,
    *,
    la_code: str,
    la_name: str,
    first_month: date,
    last_month: date,
    seed: int,
    scale: float = 1.0,
    feeds: Sequence[str] = ALL,
    calibration: Calibration | None = None,
    moj_until: date | None = None,
) -> GroundTruth:
    """Write synthetic deliveries for the record-level feeds into ``landing/<feed>/``.

    Police and treatment files are monthly from ``first_month`` to ``last_month``; IDVA and
    MoJ files are quarterly for the financial quarters wholly inside that range (MoJ tables
    stop after ``moj_until``, the last month of the last table, when given). ``scale``
    multiplies the volumes of a city of ~250,000 people. The same arguments always give the
    same bytes. Returns the ground truth computed from the generated records.
    """
    unknown = set(feeds) - set(FEEDS)
    if unknown:
        raise ValueError(f"unknown feeds: {sorted(unknown)}")
    months = months_between(first_month, last_month)
    if not months:
        raise ValueError("last_month is before first_month")
    cal = calibration or Calibration()
    gt = GroundTruth(la_code=la_code, la_name=la_name)
    # One random stream per feed, so asking for fewer feeds does not change the others.
    rngs = {f: random.Random(f"{seed}:{la_code}:{f}") for f in FEEDS}
    for f in feeds:
        (landing / f).mkdir(parents=True, exist_ok=True)
    if "police_crime" in feeds:
        crimes = generate_police(rngs["police_crime"], months, la_code, la_name, scale, cal)
        police_truth(crimes, gt)
        write_police(crimes, months, landing / "police_crime", gt)
    if "rny_treatment" in feeds:
        rng = rngs["rny_treatment"]
        episodes = generate_treatment(rng, months, scale)
        by_month, latest = treatment_rows(rng, episodes, months, gt)
        treatment_truth(latest, gt)
        write_treatment(by_month, months, landing / "rny_treatment", gt)
    if "idva_caseload" in feeds:
        rng = rngs["idva_caseload"]
        quarters = whole_quarters(months)
        cases, screening = generate_idva(rng, quarters, scale, cal)
        write_idva(rng, cases, screening, quarters, landing / "idva_caseload", gt)
    if "moj_reoffending" in feeds:
        write_moj(
            rngs["moj_reoffending"],
            months,
            la_code,
            la_name,
            scale,
            cal,
            moj_until,
            landing / "moj_reoffending",
            gt,
        )
    return gt
