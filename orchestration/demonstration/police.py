"""The police force's monthly crime extract (docs/feeds.md §1), with its revisions.

Saved from Excel as the force sends it: UTF-8 with a byte-order mark, CRLF line endings. A
month's file repeats earlier months' crimes that were cancelled or reclassified since.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from core.periods import first_of_month, last_of_month, quarter_label
from orchestration.demonstration.common import dmy, month_label, season, yn
from orchestration.demonstration.model import Calibration, GroundTruth, count_value

# (HO class, description, violence_with_injury) from dbt_project/seeds/ho_offence_classes.csv.
_HO: dict[str, tuple[str, bool]] = {
    "1": ("Murder", True),
    "2": ("Attempted murder", True),
    "4.1": ("Manslaughter", True),
    "4.4": ("Causing death by dangerous driving", True),
    "5D": ("Assault with intent to cause serious harm", True),
    "5E": ("Endangering life", True),
    "8N": ("Assault with injury", True),
    "8P": ("Racially or religiously aggravated assault with injury", True),
    "105A": ("Assault without injury", False),
    "105B": ("Racially or religiously aggravated assault without injury", False),
    "8L": ("Harassment", False),
    "8M": ("Racially or religiously aggravated harassment", False),
    "3A": ("Threats to kill", False),
    "9A": ("Public fear alarm or distress", False),
    "19C": ("Rape of a female aged 16 and over", False),
    "17A": ("Sexual assault on a male aged 13 and over", False),
    "20A": ("Sexual assault on a female aged 13 and over", False),
    "28E": ("Burglary - residential", False),
    "30C": ("Burglary - business and community", False),
    "34B": ("Robbery of personal property", False),
    "45": ("Theft from a vehicle", False),
    "48": ("Theft or unauthorised taking of a motor vehicle", False),
    "46": ("Shoplifting", False),
    "49": ("Other theft", False),
    "58A": ("Criminal damage to a dwelling", False),
    "58C": ("Criminal damage to a vehicle", False),
    "56B": ("Arson not endangering life", False),
    "92A": ("Trafficking in controlled drugs", False),
    "92E": ("Possession of controlled drugs (excluding cannabis)", False),
    "10A": ("Possession of article with blade or point", False),
    "81": ("Possession of firearms with intent", False),
}
_VWI = {k for k, (_, vwi) in _HO.items() if vwi}

_PUBLIC = [
    "Street/Road",
    "Licensed Premises",
    "Open Space",
    "Public Transport",
    "Shop/Commercial",
    "School/Education",
    "Vehicle",
    "Other",
]
_PUBLIC_W = [50, 18, 8, 4, 8, 4, 2, 6]

# Violence with injury in a public place: mostly assault with injury.
_PPV_CLASSES = [
    ("8N", 80),
    ("5D", 12),
    ("8P", 3.5),
    ("5E", 2),
    ("2", 1),
    ("4.4", 1),
    ("1", 0.3),
    ("4.1", 0.2),
]
# Domestic abuse crimes that are not PPV.
_DA_CLASSES = [
    ("8N", 32),
    ("5D", 6),
    ("105A", 25),
    ("8L", 14),
    ("3A", 5),
    ("58A", 7),
    ("19C", 3),
    ("20A", 2),
    ("9A", 4),
    ("28E", 2),
]
# Everything else (no DA flag, not PPV).
_OTHER_CLASSES = [
    ("49", 190),
    ("46", 120),
    ("28E", 95),
    ("30C", 40),
    ("45", 90),
    ("48", 45),
    ("58A", 45),
    ("58C", 55),
    ("56B", 12),
    ("105A", 110),
    ("105B", 6),
    ("8L", 50),
    ("8M", 4),
    ("9A", 55),
    ("3A", 6),
    ("19C", 7),
    ("20A", 12),
    ("17A", 2),
    ("34B", 30),
    ("92A", 10),
    ("92E", 18),
    ("10A", 12),
    ("81", 1),
    ("8N", 14),
    ("5D", 2),
]
_FIXED_LOCATION = {
    "46": "Shop/Commercial",
    "28E": "Dwelling",
    "58A": "Dwelling",
    "45": "Vehicle",
    "48": "Street/Road",
    "58C": "Street/Road",
}
_NO_VICTIM_AGE = {"46", "30C", "92A", "92E", "10A", "81", "4.4"}
_KNIFE_P = {"5D": 0.25, "8N": 0.03, "2": 0.4, "1": 0.3, "34B": 0.15, "3A": 0.1, "105A": 0.01}

_WARDS = {
    "E08000031": [
        "Bilston East",
        "Bilston North",
        "Blakenhall",
        "Bushbury North",
        "Bushbury South and Low Hill",
        "East Park",
        "Ettingshall",
        "Fallings Park",
        "Graiseley",
        "Heath Town",
        "Merry Hill",
        "Oxley",
        "Park",
        "Penn",
        "St Peter's",
        "Spring Vale",
        "Tettenhall Regis",
        "Tettenhall Wightwick",
        "Wednesfield North",
        "Wednesfield South",
    ],
    "E08000026": [
        "Bablake",
        "Binley and Willenhall",
        "Cheylesmore",
        "Earlsdon",
        "Foleshill",
        "Henley",
        "Holbrook",
        "Longford",
        "Lower Stoke",
        "Radford",
        "St Michael's",
        "Sherbourne",
        "Upper Stoke",
        "Wainbody",
        "Westwood",
        "Whoberley",
        "Woodlands",
        "Wyken",
    ],
}
_SECTORS = ["Central", "North", "South", "East", "West"]


_POLICE_HEADER = [
    "Crime Reference",
    "Recorded Date",
    "Offence Date",
    "HO Class",
    "Offence Description",
    "Location Type",
    "DA Flag",
    "Knife Flag",
    "Firearm Flag",
    "Status",
    "Victim Age",
    "LSOA Code",
    "Ward",
    "Sector",
]


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


@dataclass
class _Crime:
    ref: str
    recorded: date
    # versions delivered: (delivery month, row); the last one is the latest row.
    versions: list[tuple[date, list[str]]] = field(default_factory=list)


def _geography(la_code: str, la_name: str) -> list[tuple[str, str, str]]:
    """(LSOA code, ward, sector) triples: about eight LSOAs per ward."""
    wards = _WARDS.get(la_code) or [f"{la_name} Ward {i:02d}" for i in range(1, 19)]
    # A stable LSOA range per authority (Wolverhampton's really starts near E01010400).
    base = (
        1010400
        if la_code == "E08000031"
        else (1000000 + int(hashlib.sha256(la_code.encode()).hexdigest(), 16) % 30000)
    )
    geo, n = [], 0
    for i, w in enumerate(wards):
        for _ in range(8):
            geo.append((f"E0{base + n:07d}", w, _SECTORS[i % len(_SECTORS)]))
            n += 1
    return geo


def generate_police(
    rng: random.Random,
    months: list[date],
    la_code: str,
    la_name: str,
    scale: float,
    cal: Calibration,
) -> list[_Crime]:
    """Every crime recorded in ``months``, with each version of it the force delivers."""
    geo = _geography(la_code, la_name)
    last = months[-1]
    n = len(months)
    crimes: list[_Crime] = []
    seq_by_year: dict[int, int] = {}

    def row(
        ref: str,
        rec: date,
        off: date | None,
        cls: str,
        loc: str,
        da: bool,
        knife: bool,
        fire: bool,
        status: str,
        age: int | None,
        place: tuple[str, str, str],
    ) -> list[str]:
        return [
            ref,
            dmy(rec),
            dmy(off),
            cls,
            _HO[cls][0],
            loc,
            yn(da),
            yn(knife),
            yn(fire),
            status,
            "" if age is None else str(age),
            *place,
        ]

    for i, m in enumerate(months):
        # Final (latest-row, not cancelled) counts for the month: calibrated or drawn.
        # Domestic abuse reporting rises steadily across the period (the outcome sought).
        trend = 1.0 + 0.75 * i / max(n - 1, 1)
        total = round(1700 * scale * season(m) * rng.uniform(0.96, 1.04))
        ppv = cal.ppv_by_month.get(m, round(95 * scale * season(m) * rng.uniform(0.9, 1.1)))
        da = cal.da_by_month.get(m, round(150 * scale * trend * rng.uniform(0.94, 1.06)))
        overlap = min(round(0.06 * ppv), ppv, da)  # DA assaults in a public place
        other = max(total - ppv - da + overlap, 0)
        # Cancelled after review: extra crimes whose latest row is Cancelled. The first
        # of each month is always a PPV crime, so the latest-row rule visibly matters.
        n_cancel = max(1, round(total * 0.015))
        kinds = (
            ["ppv_da"] * overlap
            + ["ppv"] * (ppv - overlap)
            + ["da"] * (da - overlap)
            + ["other"] * other
            + ["cancel_ppv"]
            + ["cancel"] * (n_cancel - 1)
        )
        days = last_of_month(m).day
        rng.shuffle(kinds)  # so that a day's crimes are not grouped by kind
        planned = sorted(
            ((m.replace(day=rng.randint(1, days)), k) for k in kinds), key=lambda t: t[0]
        )
        for rec, kind in planned:
            yy = rec.year
            seq_by_year[yy] = seq_by_year.get(yy, 100000 + rng.randint(0, 9000)) + rng.randint(1, 3)
            ref = f"20WM/{seq_by_year[yy]}{chr(65 + rng.randrange(26))}/{yy % 100:02d}"
            if kind == "cancel":
                kind = rng.choices(["ppv", "da", "other"], [1, 2, 7])[0] + "_c"
            elif kind == "cancel_ppv":
                kind = "ppv_c"
            base_kind = kind.removesuffix("_c")
            da_flag = base_kind in ("ppv_da", "da")
            if base_kind in ("ppv", "ppv_da"):
                cls = _pick(rng, _PPV_CLASSES)
                loc = rng.choices(_PUBLIC, _PUBLIC_W)[0]
                da_flag = base_kind == "ppv_da"
            elif base_kind == "da":
                cls = _pick(rng, _DA_CLASSES)
                loc = (
                    "Dwelling"
                    if cls in _VWI or rng.random() < 0.8
                    else rng.choice(["Street/Road", "Other", "Vehicle"])
                )
            else:
                cls = _pick(rng, _OTHER_CLASSES)
                loc = _FIXED_LOCATION.get(cls) or (
                    "Dwelling"
                    if cls in _VWI
                    else rng.choices(_PUBLIC + ["Dwelling"], _PUBLIC_W + [25])[0]
                )
            knife = cls == "10A" or rng.random() < _KNIFE_P.get(cls, 0.0)
            fire = cls == "81" or (cls in ("34B", "5D") and rng.random() < 0.01)
            r = rng.random()
            off: date | None = rec - timedelta(days=rng.randint(0, 2))
            if r < 0.05:
                off = None
            elif r < 0.15:
                off = rec - timedelta(days=rng.randint(3, 30))
            age = (
                None
                if cls in _NO_VICTIM_AGE or rng.random() < 0.05
                else min(95, max(10, int(rng.gauss(34, 14))))
            )
            place = rng.choice(geo)
            final = row(ref, rec, off, cls, loc, da_flag, knife, fire, "Recorded", age, place)
            crime = _Crime(ref, rec)
            # The month of the revision, if it can still be delivered within the period.
            lag_month = first_of_month(m, rng.choice([1, 1, 2, 3]))
            can_revise = lag_month <= last
            if kind.endswith("_c"):
                cancelled = final.copy()
                cancelled[9] = "Cancelled"
                if can_revise:
                    crime.versions = [(m, final), (lag_month, cancelled)]
                else:  # recorded and cancelled within the last month: delivered once
                    crime.versions = [(m, cancelled)]
            elif can_revise and rng.random() < 0.025:
                # Reclassification: the first delivery showed a different state.
                first = final.copy()
                if base_kind in ("ppv", "ppv_da") and cls == "8N":
                    first[3], first[4] = "105A", _HO["105A"][0]  # injury found later
                elif base_kind == "da" and final[6] == "Y":
                    first[6] = "N"  # domestic context established later
                elif cls == "105A" and loc != "Dwelling":
                    first[3], first[4] = "8N", _HO["8N"][0]  # downgraded: no injury
                elif cls == "49":
                    first[3], first[4] = "46", _HO["46"][0]
                if first != final:
                    crime.versions = [(m, first), (lag_month, final)]
                else:
                    crime.versions = [(m, final)]
            else:
                crime.versions = [(m, final)]
            crimes.append(crime)
    return crimes


def police_truth(crimes: list[_Crime], gt: GroundTruth) -> None:
    """The police indicators by month and quarter of recording, from each crime's latest row."""
    monthly: dict[str, dict[str, int]] = {
        c: defaultdict(int) for c in ("PV_PPV", "VA_DA_CRIMES", "GY_KNIFE_FIREARM")
    }
    quarters: set[str] = set()
    for c in crimes:
        latest = c.versions[-1][1]
        mk = month_label(c.recorded)
        quarters.add(quarter_label(c.recorded))
        for code in monthly:
            monthly[code].setdefault(mk, 0)
        if latest[9] == "Cancelled":
            continue
        if latest[3] in _VWI and latest[5] != "Dwelling":
            monthly["PV_PPV"][mk] += 1
        if latest[6] == "Y":
            monthly["VA_DA_CRIMES"][mk] += 1
        if latest[7] == "Y" or latest[8] == "Y":
            monthly["GY_KNIFE_FIREARM"][mk] += 1
    for code, by_month in monthly.items():
        gt.police_monthly[code] = dict(sorted(by_month.items()))
        byq: dict[str, int] = {q: 0 for q in quarters}
        for mk, v in by_month.items():
            y, mo = map(int, mk.split("-"))
            byq[quarter_label(date(y, mo, 1))] += v
        gt.indicators[code] = {q: count_value(v) for q, v in sorted(byq.items())}
    gt.records["police_crime"] = len(crimes)


def write_police(crimes: list[_Crime], months: list[date], folder: Path, gt: GroundTruth) -> None:
    """One CSV file a month: the month's crimes, then revisions of earlier months' crimes."""
    by_month: dict[date, list[list[str]]] = defaultdict(list)
    revisions: dict[date, list[list[str]]] = defaultdict(list)
    for c in crimes:
        for dm, r in c.versions:
            # The month's own crimes first, then repeats of earlier months' crimes.
            (by_month if dm == first_of_month(c.recorded) else revisions)[dm].append(r)
    for dm, rows in revisions.items():
        by_month[dm].extend(rows)
    rows_total = 0
    files = []
    for m in months:
        path = folder / f"police_crime_{month_label(m)}.csv"
        # Saved from Excel: UTF-8 with a byte-order mark and CRLF line endings.
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(_POLICE_HEADER)
            w.writerows(by_month[m])  # the month's crimes by reference, then revisions
        rows_total += len(by_month[m])
        files.append(path)
    gt.files["police_crime"] = files
    gt.data_rows["police_crime"] = rows_total
