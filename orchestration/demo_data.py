"""Demonstration data for csp-warehouse: synthetic partner deliveries with known answers.

The generator writes the four record-level partner feeds of ``SPEC.md`` into a landing
folder, byte-for-byte in the style of the partners' real exports (BOM and CRLF for the
police, cp1252 with smart quotes for the treatment provider, the IDVA workbook's title
rows and real Excel dates, the MoJ table's title, period line and notes). Nothing in it is
real: names, client numbers and dates of birth are invented.

Every file is generated from in-memory records, and the same records give the
:class:`GroundTruth` -- the indicator values the warehouse must compute when it applies the
record-key rules (latest row wins) -- so tests can check the pipeline end to end without
trusting the pipeline to check itself.

``write_demo_landing`` produces the bundled Wolverhampton demonstration, calibrated by
construction so that the figures published in the partnership's report of 4 December 2014
(see ``INDICATORS.md``) come out exactly.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import openpyxl

__all__ = [
    "PARTNER_CODES",
    "partner_return_figures",
    "write_partner_returns",
    "ALL",
    "FEEDS",
    "Calibration",
    "GroundTruth",
    "IndicatorValue",
    "PersonalData",
    "fy_quarter",
    "generate_landing",
    "write_demo_landing",
]

FEEDS: tuple[str, ...] = ("police_crime", "rny_treatment", "idva_caseload", "moj_reoffending")
ALL = FEEDS

# --------------------------------------------------------------------------------------
# Periods
# --------------------------------------------------------------------------------------


def _month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def _add_months(d: date, n: int) -> date:
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def _month_end(d: date) -> date:
    return _add_months(_month_start(d), 1) - timedelta(days=1)


def _months(first: date, last: date) -> list[date]:
    out, m = [], _month_start(first)
    while m <= _month_start(last):
        out.append(m)
        m = _add_months(m, 1)
    return out


def _fy_start_year(d: date) -> int:
    return d.year if d.month >= 4 else d.year - 1


def _quarter_no(d: date) -> int:
    return (d.month - 4) % 12 // 3 + 1


def fy_quarter(d: date) -> str:
    """Financial quarter label of a date, e.g. ``2014/15 Q2`` (the year starts 1 April)."""
    fy = _fy_start_year(d)
    return f"{fy}/{(fy + 1) % 100:02d} Q{_quarter_no(d)}"


def _quarter_first_month(d: date) -> date:
    return _add_months(_month_start(d), -((d.month - 4) % 3))


def _month_key(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _dmy(d: date | None) -> str:
    return "" if d is None else d.strftime("%d/%m/%Y")


def _round_half_up(x: float, places: int) -> Decimal:
    """Round as people and spreadsheets do (0.05 -> 0.1), not banker's rounding."""
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """Split an exact total over buckets in proportion to weights (largest remainder)."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def _season(m: date) -> float:
    """Crime and referrals peak in summer and around Christmas; a gentle, fixed curve."""
    return {1: 0.93, 2: 0.88, 3: 0.97, 4: 0.98, 5: 1.04, 6: 1.05,
            7: 1.09, 8: 1.06, 9: 1.00, 10: 1.00, 11: 0.95, 12: 0.99}[m.month]


# --------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorValue:
    """One indicator for one quarter, as ``INDICATORS.md`` defines it.

    Counts carry ``value`` (and ``numerator`` = value, ``denominator`` = None); percentages
    carry numerator, denominator and ``value`` = 100 x numerator / denominator (None when
    the denominator is 0); RR_REOFFEND_DIFF carries actual rate, predicted rate and the
    published difference.
    """

    numerator: float | None
    denominator: float | None
    value: float | None


@dataclass
class PersonalData:
    """Every personal identifier the generator wrote, so a test can prove none is loaded."""

    client_ids: set[str] = field(default_factory=set)
    dates_of_birth: set[str] = field(default_factory=set)  # dd/mm/yyyy, as written
    case_ids: set[str] = field(default_factory=set)
    note_names: set[str] = field(default_factory=set)  # full names used in Keyworker Notes
    note_addresses: set[str] = field(default_factory=set)  # "134 Church Street"

    def all_values(self) -> set[str]:
        """All identifiers as one set of strings."""
        return (self.client_ids | self.dates_of_birth | self.case_ids
                | self.note_names | self.note_addresses)


@dataclass
class GroundTruth:
    """What the generator wrote and what the warehouse must make of it.

    ``indicators[code][quarter]`` is computed from the generator's own records, applying
    latest-row-wins and leaving out cancelled crimes. Quarters are those the delivered
    records fall in (a quarter only partly covered by monthly files -- e.g. 2014/15 Q3 with
    October alone -- holds the partial count). ``police_monthly[code]["YYYY-MM"]`` gives the
    police counts by month of recording, for windows that are not whole quarters.
    """

    la_code: str
    la_name: str
    indicators: dict[str, dict[str, IndicatorValue]] = field(default_factory=dict)
    police_monthly: dict[str, dict[str, int]] = field(default_factory=dict)
    files: dict[str, list[Path]] = field(default_factory=dict)
    data_rows: dict[str, int] = field(default_factory=dict)  # rows written, all files
    records: dict[str, int] = field(default_factory=dict)  # distinct record keys
    personal: PersonalData = field(default_factory=PersonalData)

    def value(self, code: str, quarter: str) -> float | None:
        """The indicator value for a quarter (KeyError if the quarter has no data)."""
        return self.indicators[code][quarter].value

    def ytd(self, code: str, quarters: Iterable[str]) -> IndicatorValue:
        """Sum numerators and denominators over quarters (the `sum` / `ratio` rules)."""
        num = den = 0.0
        has_den = False
        for q in quarters:
            iv = self.indicators.get(code, {}).get(q)
            if iv is None:
                continue
            num += iv.numerator or 0
            if iv.denominator is not None:
                has_den = True
                den += iv.denominator
        if not has_den:
            return IndicatorValue(num, None, num)
        return IndicatorValue(num, den, 100.0 * num / den if den else None)


def _count(v: int) -> IndicatorValue:
    return IndicatorValue(v, None, v)


def _pct(n: int, d: int) -> IndicatorValue:
    return IndicatorValue(n, d, 100.0 * n / d if d else None)


# --------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Calibration:
    """Exact figures to build into the data instead of drawing them at random.

    Counts are *final* counts (latest row, cancelled crimes excluded); the generator adds
    cancellations and reclassifications around them so the delivered files still show
    revisions.
    """

    ppv_by_month: Mapping[date, int] = field(default_factory=dict)
    da_by_month: Mapping[date, int] = field(default_factory=dict)
    idva_high_by_quarter: Mapping[str, int] = field(default_factory=dict)
    screened_by_month: Mapping[date, int] = field(default_factory=dict)
    # quarter-end month -> (offenders, predicted rate, difference %) for the partnership
    moj_own: Mapping[date, tuple[int, float, float]] = field(default_factory=dict)
    repeat_rate: float | None = None


# --------------------------------------------------------------------------------------
# Local colour
# --------------------------------------------------------------------------------------

# (HO class, description, violence_with_injury) from reference/ho_offence_classes.csv.
_HO: dict[str, tuple[str, bool]] = {
    "1": ("Murder", True), "2": ("Attempted murder", True), "4.1": ("Manslaughter", True),
    "4.4": ("Causing death by dangerous driving", True),
    "5D": ("Assault with intent to cause serious harm", True),
    "5E": ("Endangering life", True), "8N": ("Assault with injury", True),
    "8P": ("Racially or religiously aggravated assault with injury", True),
    "105A": ("Assault without injury", False),
    "105B": ("Racially or religiously aggravated assault without injury", False),
    "8L": ("Harassment", False), "8M": ("Racially or religiously aggravated harassment", False),
    "3A": ("Threats to kill", False), "9A": ("Public fear alarm or distress", False),
    "19C": ("Rape of a female aged 16 and over", False),
    "17A": ("Sexual assault on a male aged 13 and over", False),
    "20A": ("Sexual assault on a female aged 13 and over", False),
    "28E": ("Burglary - residential", False), "30C": ("Burglary - business and community", False),
    "34B": ("Robbery of personal property", False), "45": ("Theft from a vehicle", False),
    "48": ("Theft or unauthorised taking of a motor vehicle", False),
    "46": ("Shoplifting", False), "49": ("Other theft", False),
    "58A": ("Criminal damage to a dwelling", False),
    "58C": ("Criminal damage to a vehicle", False), "56B": ("Arson not endangering life", False),
    "92A": ("Trafficking in controlled drugs", False),
    "92E": ("Possession of controlled drugs (excluding cannabis)", False),
    "10A": ("Possession of article with blade or point", False),
    "81": ("Possession of firearms with intent", False),
}
_VWI = {k for k, (_, vwi) in _HO.items() if vwi}

_PUBLIC = ["Street/Road", "Licensed Premises", "Open Space", "Public Transport",
           "Shop/Commercial", "School/Education", "Vehicle", "Other"]
_PUBLIC_W = [50, 18, 8, 4, 8, 4, 2, 6]

# Violence with injury in a public place: mostly assault with injury.
_PPV_CLASSES = [("8N", 80), ("5D", 12), ("8P", 3.5), ("5E", 2), ("2", 1),
                ("4.4", 1), ("1", 0.3), ("4.1", 0.2)]
# Domestic abuse crimes that are not PPV.
_DA_CLASSES = [("8N", 32), ("5D", 6), ("105A", 25), ("8L", 14), ("3A", 5), ("58A", 7),
               ("19C", 3), ("20A", 2), ("9A", 4), ("28E", 2)]
# Everything else (no DA flag, not PPV).
_OTHER_CLASSES = [("49", 190), ("46", 120), ("28E", 95), ("30C", 40), ("45", 90), ("48", 45),
                  ("58A", 45), ("58C", 55), ("56B", 12), ("105A", 110), ("105B", 6),
                  ("8L", 50), ("8M", 4), ("9A", 55), ("3A", 6), ("19C", 7), ("20A", 12),
                  ("17A", 2), ("34B", 30), ("92A", 10), ("92E", 18), ("10A", 12), ("81", 1),
                  ("8N", 14), ("5D", 2)]
_FIXED_LOCATION = {"46": "Shop/Commercial", "28E": "Dwelling", "58A": "Dwelling",
                   "45": "Vehicle", "48": "Street/Road", "58C": "Street/Road"}
_NO_VICTIM_AGE = {"46", "30C", "92A", "92E", "10A", "81", "4.4"}
_KNIFE_P = {"5D": 0.25, "8N": 0.03, "2": 0.4, "1": 0.3, "34B": 0.15, "3A": 0.1, "105A": 0.01}

_WARDS = {
    "E08000031": ["Bilston East", "Bilston North", "Blakenhall", "Bushbury North",
                  "Bushbury South and Low Hill", "East Park", "Ettingshall", "Fallings Park",
                  "Graiseley", "Heath Town", "Merry Hill", "Oxley", "Park", "Penn",
                  "St Peter's", "Spring Vale", "Tettenhall Regis", "Tettenhall Wightwick",
                  "Wednesfield North", "Wednesfield South"],
    "E08000026": ["Bablake", "Binley and Willenhall", "Cheylesmore", "Earlsdon", "Foleshill",
                  "Henley", "Holbrook", "Longford", "Lower Stoke", "Radford", "St Michael's",
                  "Sherbourne", "Upper Stoke", "Wainbody", "Westwood", "Whoberley",
                  "Woodlands", "Wyken"],
}
_SECTORS = ["Central", "North", "South", "East", "West"]

# Names deliberately use characters outside ASCII but inside cp1252 (the provider's
# encoding): accents, the curly apostrophe.
_FIRST = ["José", "Seán", "Zoë", "Malgorzata", "Renée", "Chloë", "Siobhán", "Noël",
          "Aoife", "Gary", "Tracey", "Darren", "Kerry", "Wayne", "Priya", "Jürgen", "Inés"]
_LAST = ["O’Connor", "D’Souza", "Müller", "Nuñez", "Patel", "Kowalski", "Brennan", "Ahmed",
         "O’Neill", "Hughes", "Begum", "Fernández", "Smith", "Kaur", "Dvořák"]
_LAST = [n for n in _LAST if n.encode("cp1252", "ignore").decode("cp1252") == n]
_STREETS = ["Church Street", "Stafford Road", "Dudley Road", "Lichfield Street",
            "Park Lane", "Victoria Road", "Penn Road", "Bilston Street"]
_NOTES = [
    "Seen by {name}; owes £{amount} – “engaging well”, lives at {address}",
    "Partner {name} called – says client “much calmer”, new address {address}",
    "DNA twice – {name} (sister) to be contacted at {address}, £{amount} fare paid",
    "Reviewed with {name}: “wants to reduce use”, staying at {address} – £{amount} arrears",
]

# MoJ national table: (code, name, probation trust, typical cohort size).
_MOJ_LAS: list[tuple[str, str, str, int]] = [
    ("E08000028", "Sandwell", "Staffordshire and West Midlands", 3400),
    ("E08000031", "Wolverhampton", "Staffordshire and West Midlands", 1750),
    ("E08000027", "Dudley", "Staffordshire and West Midlands", 3800),
    ("E08000030", "Walsall", "Staffordshire and West Midlands", 1080),
    ("E08000025", "Birmingham", "Staffordshire and West Midlands", 9600),
    ("E08000029", "Solihull", "Staffordshire and West Midlands", 2570),
    ("E08000026", "Coventry", "Warwickshire", 2980),
    ("E10000031", "Warwickshire", "Warwickshire", 2100),
    ("E06000021", "Stoke-on-Trent", "Staffordshire and West Midlands", 2800),
    ("E10000028", "Staffordshire", "Staffordshire and West Midlands", 3900),
    ("E06000020", "Telford and Wrekin", "West Mercia", 1250),
    ("E06000051", "Shropshire", "West Mercia", 1150),
    ("E06000019", "Herefordshire, County of", "West Mercia", 820),
    ("E10000034", "Worcestershire", "West Mercia", 2300),
    ("E09000033", "Westminster", "London", 4160),
    ("E09000028", "Southwark", "London", 3300),
    ("E09000030", "Tower Hamlets", "London", 2900),
    ("E09000001", "City of London", "London", 24),
    ("E06000053", "Isles of Scilly", "Devon and Cornwall", 12),
    ("E06000026", "Plymouth", "Devon and Cornwall", 1900),
    ("E08000003", "Manchester", "Greater Manchester", 4230),
    ("E08000001", "Bolton", "Greater Manchester", 1900),
    ("E08000007", "Stockport", "Greater Manchester", 1500),
    ("E08000009", "Trafford", "Greater Manchester", 1100),
    ("E08000035", "Leeds", "West Yorkshire", 3910),
    ("E08000032", "Bradford", "West Yorkshire", 3500),
    ("E08000033", "Calderdale", "West Yorkshire", 1200),
    ("E08000034", "Kirklees", "West Yorkshire", 2300),
    ("E08000012", "Liverpool", "Merseyside", 4000),
    ("E08000019", "Sheffield", "South Yorkshire", 3300),
    ("E08000021", "Newcastle upon Tyne", "Northumbria", 2400),
    ("E06000018", "Nottingham", "Nottinghamshire", 2900),
    ("E06000016", "Leicester", "Leicestershire and Rutland", 2500),
    ("E06000023", "Bristol, City of", "Avon and Somerset", 3000),
    ("E06000045", "Southampton", "Hampshire", 1800),
    ("E06000043", "Brighton and Hove", "Surrey and Sussex", 1700),
    ("W06000015", "Cardiff", "Wales", 2200),
    ("W06000011", "Swansea", "Wales", 1500),
]

_POLICE_HEADER = ["Crime Reference", "Recorded Date", "Offence Date", "HO Class",
                  "Offence Description", "Location Type", "DA Flag", "Knife Flag",
                  "Firearm Flag", "Status", "Victim Age", "LSOA Code", "Ward", "Sector"]
_RNY_HEADER = ["Client ID", "Date of Birth", "Sex", "Referral Date", "Referral Source",
               "Substance", "Class A Positive Test", "Treatment Start Date", "Discharge Date",
               "Discharge Reason", "IOM Cohort", "Required Assessment",
               "Mental Health Referral", "Keyworker Notes"]
_IDVA_HEADER = ["Case ID", "Referral Date", "Referral Source", "Risk Level", "DASH Score",
                "MARAC Referral", "Repeat Victim", "Children in Household", "Pregnant",
                "Victim Gender", "Victim Age Band", "Case Closed Date", "Closure Reason"]
_MOJ_HEADER = ["LA Code", "Local Authority", "Probation Trust", "Offenders", "Actual Rate",
               "Predicted Rate", "Difference (%)", "Significant"]


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def _yn(b: bool) -> str:
    return "Y" if b else "N"


def _yes_no(b: bool) -> str:
    return "Yes" if b else "No"


# --------------------------------------------------------------------------------------
# Police crime
# --------------------------------------------------------------------------------------


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
    base = 1010400 if la_code == "E08000031" else (
        1000000 + int(hashlib.sha256(la_code.encode()).hexdigest(), 16) % 30000)
    geo, n = [], 0
    for i, w in enumerate(wards):
        for _ in range(8):
            geo.append((f"E0{base + n:07d}", w, _SECTORS[i % len(_SECTORS)]))
            n += 1
    return geo


def _gen_police(rng: random.Random, months: list[date], la_code: str, la_name: str,
                scale: float, cal: Calibration) -> list[_Crime]:
    geo = _geography(la_code, la_name)
    last = months[-1]
    n = len(months)
    crimes: list[_Crime] = []
    seq_by_year: dict[int, int] = {}

    def row(ref: str, rec: date, off: date | None, cls: str, loc: str, da: bool,
            knife: bool, fire: bool, status: str, age: int | None,
            place: tuple[str, str, str]) -> list[str]:
        return [ref, _dmy(rec), _dmy(off), cls, _HO[cls][0], loc, _yn(da), _yn(knife),
                _yn(fire), status, "" if age is None else str(age), *place]

    for i, m in enumerate(months):
        # Final (latest-row, not cancelled) counts for the month: calibrated or drawn.
        # Domestic abuse reporting rises steadily across the period (the outcome sought).
        trend = 1.0 + 0.75 * i / max(n - 1, 1)
        total = round(1700 * scale * _season(m) * rng.uniform(0.96, 1.04))
        ppv = cal.ppv_by_month.get(m, round(95 * scale * _season(m) * rng.uniform(0.9, 1.1)))
        da = cal.da_by_month.get(m, round(150 * scale * trend * rng.uniform(0.94, 1.06)))
        overlap = min(round(0.06 * ppv), ppv, da)  # DA assaults in a public place
        other = max(total - ppv - da + overlap, 0)
        # Cancelled after review: extra crimes whose latest row is Cancelled. The first
        # of each month is always a PPV crime, so the latest-row rule visibly matters.
        n_cancel = max(1, round(total * 0.015))
        kinds = (["ppv_da"] * overlap + ["ppv"] * (ppv - overlap) + ["da"] * (da - overlap)
                 + ["other"] * other + ["cancel_ppv"] + ["cancel"] * (n_cancel - 1))
        days = _month_end(m).day
        rng.shuffle(kinds)  # so that a day's crimes are not grouped by kind
        planned = sorted(((m.replace(day=rng.randint(1, days)), k) for k in kinds),
                         key=lambda t: t[0])
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
                loc = "Dwelling" if cls in _VWI or rng.random() < 0.8 else rng.choice(
                    ["Street/Road", "Other", "Vehicle"])
            else:
                cls = _pick(rng, _OTHER_CLASSES)
                loc = _FIXED_LOCATION.get(cls) or (
                    "Dwelling" if cls in _VWI else rng.choices(_PUBLIC + ["Dwelling"],
                                                               _PUBLIC_W + [25])[0])
            knife = cls == "10A" or rng.random() < _KNIFE_P.get(cls, 0.0)
            fire = cls == "81" or (cls in ("34B", "5D") and rng.random() < 0.01)
            r = rng.random()
            off: date | None = rec - timedelta(days=rng.randint(0, 2))
            if r < 0.05:
                off = None
            elif r < 0.15:
                off = rec - timedelta(days=rng.randint(3, 30))
            age = None if cls in _NO_VICTIM_AGE or rng.random() < 0.05 else min(
                95, max(10, int(rng.gauss(34, 14))))
            place = rng.choice(geo)
            final = row(ref, rec, off, cls, loc, da_flag, knife, fire, "Recorded", age, place)
            crime = _Crime(ref, rec)
            # The month of the revision, if it can still be delivered within the period.
            lag_month = _add_months(m, rng.choice([1, 1, 2, 3]))
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


def _police_truth(crimes: list[_Crime], gt: GroundTruth) -> None:
    monthly: dict[str, dict[str, int]] = {c: defaultdict(int) for c in
                                          ("PV_PPV", "VA_DA_CRIMES", "GY_KNIFE_FIREARM")}
    quarters: set[str] = set()
    for c in crimes:
        latest = c.versions[-1][1]
        mk = _month_key(c.recorded)
        quarters.add(fy_quarter(c.recorded))
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
            byq[fy_quarter(date(y, mo, 1))] += v
        gt.indicators[code] = {q: _count(v) for q, v in sorted(byq.items())}
    gt.records["police_crime"] = len(crimes)


def _write_police(crimes: list[_Crime], months: list[date], folder: Path,
                  gt: GroundTruth) -> None:
    by_month: dict[date, list[list[str]]] = defaultdict(list)
    revisions: dict[date, list[list[str]]] = defaultdict(list)
    for c in crimes:
        for dm, r in c.versions:
            # The month's own crimes first, then repeats of earlier months' crimes.
            (by_month if dm == _month_start(c.recorded) else revisions)[dm].append(r)
    for dm, rows in revisions.items():
        by_month[dm].extend(rows)
    rows_total = 0
    files = []
    for m in months:
        path = folder / f"police_crime_{_month_key(m)}.csv"
        # Saved from Excel: UTF-8 with a byte-order mark and CRLF line endings.
        with open(path, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(_POLICE_HEADER)
            w.writerows(by_month[m])  # the month's crimes by reference, then revisions
        rows_total += len(by_month[m])
        files.append(path)
    gt.files["police_crime"] = files
    gt.data_rows["police_crime"] = rows_total


# --------------------------------------------------------------------------------------
# Treatment episodes
# --------------------------------------------------------------------------------------


@dataclass
class _Episode:
    client: str
    dob: date
    sex: str
    referral: date
    source: str
    substance: str
    class_a: str
    start: date | None
    discharge: date | None
    reason: str
    iom: bool
    ra: str
    mh: bool


def _gen_treatment(rng: random.Random, months: list[date], scale: float) -> list[_Episode]:
    episodes: list[_Episode] = []
    used_ids: set[str] = set()
    returning: list[tuple[str, date, str, date]] = []  # (client, dob, sex, free from)
    # Start a year early so the first files carry starts and discharges of older referrals.
    sim = _months(_add_months(months[0], -12), months[-1])
    for m in sim:
        n_ref = max(0, round(rng.gauss(46 * scale * _season(m), 4 * scale ** 0.5)))
        for _ in range(n_ref):
            ref = m.replace(day=rng.randint(1, _month_end(m).day))
            back = [r for r in returning if r[3] < ref]
            if back and rng.random() < 0.12:
                pick = back[rng.randrange(len(back))]
                returning.remove(pick)
                client, dob, sex, _free = pick
            else:
                while True:
                    client = f"RNY{rng.randint(100000, 999999)}"
                    if client not in used_ids:
                        break
                used_ids.add(client)
                age = min(70, max(18, int(rng.gauss(36, 10))))
                dob = ref - timedelta(days=age * 365 + rng.randint(0, 364))
                sex = rng.choices(["M", "F", "U"], [70, 29, 1])[0]
            source = rng.choices(["Arrest Referral", "Court", "Probation", "Prison", "Self",
                                  "GP", "Other"], [22, 8, 14, 8, 25, 15, 8])[0]
            substance = rng.choices(["Opiates", "Non-opiates", "Alcohol",
                                     "Non-opiates and alcohol"], [35, 15, 35, 15])[0]
            if source == "Arrest Referral":
                class_a = "Y" if rng.random() < 0.7 else "N"
            else:
                class_a = "" if rng.random() < 0.8 else "N"
            ra = "N/A"
            if source == "Arrest Referral" and class_a == "Y":
                ra = "Breach" if rng.random() < 0.15 else "Attended"
            p_start = 0.1 if ra == "Breach" else 0.78
            start = discharge = None
            reason = ""
            if rng.random() < p_start:
                start = ref + timedelta(days=rng.randint(3, 55))
                if rng.random() < 0.85:
                    discharge = start + timedelta(days=rng.randint(45, 400))
                    if substance == "Alcohol":
                        done = rng.choice(["Completed - alcohol free",
                                           "Completed - occasional user"])
                    else:
                        done = rng.choice(["Completed - drug free",
                                           "Completed - occasional user"])
                    reason = rng.choices([done, "Dropped out", "Transferred", "Prison",
                                          "Died"], [45, 35, 10, 8, 2])[0]
            elif rng.random() < 0.6:
                discharge = ref + timedelta(days=rng.randint(14, 60))
                reason = rng.choice(["Declined treatment", "Dropped out"])
            iom = rng.random() < (0.3 if source in ("Court", "Probation", "Prison") else 0.05)
            mh = start is not None and rng.random() < 0.18
            episodes.append(_Episode(client, dob, sex, ref, source, substance, class_a, start,
                                     discharge, reason, iom, ra, mh))
            if discharge is not None and reason != "Died":
                returning.append((client, dob, sex, discharge))
    return episodes


def _episode_row(e: _Episode, asof: date, note: str) -> list[str]:
    """The episode as the provider's system shows it at the end of a month."""
    started = e.start is not None and e.start <= asof
    done = e.discharge is not None and e.discharge <= asof
    return [e.client, _dmy(e.dob), e.sex, _dmy(e.referral), e.source, e.substance, e.class_a,
            _dmy(e.start) if started else "", _dmy(e.discharge) if done else "",
            e.reason if done else "", _yn(e.iom), e.ra,
            # The mental health referral is made at assessment, once treatment starts.
            _yn(e.mh and started), note]


def _treatment_rows(rng: random.Random, episodes: list[_Episode], months: list[date],
                    gt: GroundTruth) -> tuple[dict[date, list[list[str]]], list[list[str]]]:
    first, last = months[0], months[-1]
    by_month: dict[date, list[list[str]]] = defaultdict(list)
    latest: list[list[str]] = []
    pd = gt.personal
    for e in episodes:
        events = {_month_start(d) for d in (e.referral, e.start, e.discharge) if d is not None}
        due = sorted(mm for mm in events if first <= mm <= last)
        if not due:
            continue
        row: list[str] = []
        for mm in due:
            if rng.random() < 0.1:
                note = ""
            else:
                name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
                addr = f"{rng.randint(1, 199)} {rng.choice(_STREETS)}"
                note = rng.choice(_NOTES).format(name=name, address=addr,
                                                 amount=rng.randint(5, 90))
                pd.note_names.add(name)
                pd.note_addresses.add(addr)
            row = _episode_row(e, _month_end(mm), note)
            by_month[mm].append(row)
        latest.append(row)
        pd.client_ids.add(e.client)
        pd.dates_of_birth.add(_dmy(e.dob))
    for rows in by_month.values():
        rows.sort(key=lambda r: (datetime.strptime(r[3], "%d/%m/%Y"), r[0]))
    return by_month, latest


def _treatment_truth(latest: list[list[str]], gt: GroundTruth) -> None:
    cj = {"Arrest Referral", "Court", "Probation", "Prison"}
    acc: dict[str, dict[str, list[int]]] = {
        c: defaultdict(lambda: [0, 0]) for c in
        ("SM_CJ_REFERRALS", "SM_CLASSA_ENGAGED", "SM_COMPLETIONS", "SM_RA_BREACHES",
         "SM_MH_REFERRALS")}
    for r in latest:
        q = fy_quarter(datetime.strptime(r[3], "%d/%m/%Y").date())
        for c in ("SM_CJ_REFERRALS", "SM_RA_BREACHES", "SM_MH_REFERRALS",
                  "SM_CLASSA_ENGAGED"):
            acc[c][q]  # every referral quarter exists for referral-date indicators
        acc["SM_CJ_REFERRALS"][q][0] += r[4] in cj
        acc["SM_RA_BREACHES"][q][0] += r[11] == "Breach"
        acc["SM_MH_REFERRALS"][q][0] += r[12] == "Y"
        if r[4] == "Arrest Referral" and r[6] == "Y":
            acc["SM_CLASSA_ENGAGED"][q][1] += 1
            acc["SM_CLASSA_ENGAGED"][q][0] += r[7] != ""
        if r[8] and r[9] != "Transferred":
            dq = fy_quarter(datetime.strptime(r[8], "%d/%m/%Y").date())
            acc["SM_COMPLETIONS"][dq][1] += 1
            acc["SM_COMPLETIONS"][dq][0] += r[9].startswith("Completed")
    for c, byq in acc.items():
        pct = c in ("SM_CLASSA_ENGAGED", "SM_COMPLETIONS")
        gt.indicators[c] = {q: (_pct(*v) if pct else _count(v[0]))
                            for q, v in sorted(byq.items())}
    gt.records["rny_treatment"] = len(latest)


def _write_treatment(by_month: dict[date, list[list[str]]], months: list[date],
                     folder: Path, gt: GroundTruth) -> None:
    files, total = [], 0
    for m in months:
        path = folder / f"rny_treatment_{_month_key(m)}.csv"
        # The provider's system exports Windows-1252, quoting only where needed.
        with open(path, "w", encoding="cp1252", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
            w.writerow(_RNY_HEADER)
            w.writerows(by_month.get(m, []))
        total += len(by_month.get(m, []))
        files.append(path)
    gt.files["rny_treatment"] = files
    gt.data_rows["rny_treatment"] = total


# --------------------------------------------------------------------------------------
# IDVA caseload
# --------------------------------------------------------------------------------------


@dataclass
class _Case:
    case_id: str
    referral: date
    source: str
    risk_first: str
    risk_final: str
    risk_change: date | None  # when risk_first became risk_final
    dash_first: int | None
    dash_final: int | None
    marac: bool
    repeat: bool
    children: int
    pregnant: str
    gender: str
    age_band: str
    closed: date | None
    closure: str


def _dash(rng: random.Random, risk: str) -> int | None:
    if rng.random() < 0.05:
        return None
    lo, hi = {"High": (14, 27), "Medium": (10, 13), "Standard": (0, 9)}[risk]
    return rng.randint(lo, hi)


def _idva_quarters(months: list[date]) -> list[date]:
    """First months of the financial quarters whose three months are all in range."""
    have = set(months)
    return [m for m in months if m == _quarter_first_month(m)
            and all(_add_months(m, k) in have for k in range(3))]


def _gen_idva(rng: random.Random, quarters: list[date], scale: float,
              cal: Calibration) -> tuple[list[_Case], dict[date, list[int]]]:
    """Cases and, per month, the screening figure as delivered in each successive file."""
    cases: list[_Case] = []
    last_q_by_fy: dict[int, date] = {}
    for q in quarters:
        last_q_by_fy[_fy_start_year(q)] = q
    seq: dict[int, int] = defaultdict(int)
    repeat_rate = cal.repeat_rate if cal.repeat_rate is not None else rng.uniform(0.25, 0.32)
    for q in quarters:
        fy = _fy_start_year(q)
        final_end = _month_end(_add_months(last_q_by_fy[fy], 2))  # the case's last file
        label = fy_quarter(q)
        n = max(1, round(250 * scale * rng.uniform(0.93, 1.07)))
        high = cal.idva_high_by_quarter.get(label, round(n * rng.uniform(0.36, 0.44)))
        n = max(n, high)
        n_repeat = round(n * repeat_rate)
        finals = ["High"] * high + rng.choices(["Medium", "Standard"], [55, 45], k=n - high)
        rng.shuffle(finals)
        repeats = [True] * n_repeat + [False] * (n - n_repeat)
        rng.shuffle(repeats)
        q_end = _month_end(_add_months(q, 2))
        refs = sorted(q + timedelta(days=rng.randint(0, (q_end - q).days)) for _ in range(n))
        for ref, final, rep in zip(refs, finals, repeats):
            seq[fy] += 1
            case_id = f"IDVA-{(fy) % 100:02d}-{seq[fy]:04d}"
            first, change = final, None
            if rng.random() < 0.2:
                # Reassessed: escalations to High and de-escalations after safety planning.
                first = rng.choice([r for r in ("High", "Medium", "Standard") if r != final])
                span = (final_end - ref).days
                change = ref + timedelta(days=rng.randint(1, max(1, min(span, 150))))
            closed, closure = None, ""
            if rng.random() < 0.8:
                closed = ref + timedelta(days=rng.randint(20, 240))
                if change is not None and closed < change:
                    closed = change + timedelta(days=rng.randint(1, 30))
                closure = rng.choices(["Support completed", "Disengaged", "Moved away",
                                       "Other"], [60, 25, 8, 7])[0]
            ever_high = "High" in (first, final)
            cases.append(_Case(
                case_id, ref,
                rng.choices(["Police", "MARAC", "Health", "Children's Social Care", "Self",
                             "Other"], [45, 10, 12, 10, 13, 10])[0],
                first, final, change, _dash(rng, first), _dash(rng, final),
                ever_high and rng.random() < 0.85 or (not ever_high and rng.random() < 0.04),
                rep, rng.choices([0, 1, 2, 3, 4], [35, 25, 22, 12, 6])[0],
                rng.choices(["Yes", "No", "Unknown"], [6, 80, 14])[0],
                rng.choices(["Female", "Male", "Other"], [92, 7, 1])[0],
                rng.choices(["16-17", "18-24", "25-34", "35-44", "45-54", "55+"],
                            [3, 22, 33, 24, 12, 6])[0],
                closed, closure))
    # Screening: the final figure per month, with earlier files showing a lower, later
    # revised count (screenings logged late).
    screening: dict[date, list[int]] = {}
    for q in quarters:
        for k in range(3):
            m = _add_months(q, k)
            final = cal.screened_by_month.get(
                m, round(205 * scale * _season(m) * rng.uniform(0.9, 1.1)))
            screening[m] = [final, rng.randint(2, 12)]
    return cases, screening


def _case_row(c: _Case, asof: date) -> list[object]:
    changed = c.risk_change is not None and c.risk_change <= asof
    risk = c.risk_final if (c.risk_change is None or changed) else c.risk_first
    dash = c.dash_final if (c.risk_change is None or changed) else c.dash_first
    high_yet = risk == "High" or (changed and c.risk_first == "High")
    closed = c.closed is not None and c.closed <= asof
    return [c.case_id, c.referral, c.source, risk, dash,
            _yes_no(c.marac and (high_yet or c.risk_first != "High" and c.risk_final != "High")),
            _yes_no(c.repeat), c.children, c.pregnant, c.gender, c.age_band,
            c.closed if closed else None, c.closure if closed else None]


def _deterministic_xlsx(wb: openpyxl.Workbook, path: Path, stamp: datetime) -> None:
    """Save a workbook with fixed timestamps, so the same seed gives the same bytes.

    A delivery's identity is the SHA-256 of its bytes: openpyxl would stamp the current
    time into docProps/core.xml and into every zip entry.
    """
    wb.properties.created = stamp
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + iso.encode(), data)
            zi = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)
    path.write_bytes(out.getvalue())


def _write_idva(rng: random.Random, cases: list[_Case], screening: dict[date, list[int]],
                quarters: list[date], folder: Path, gt: GroundTruth) -> None:
    latest: dict[str, list[object]] = {}
    latest_screen: dict[date, int] = {}
    files, total = [], 0
    qs_by_fy: dict[int, list[date]] = defaultdict(list)
    for q in quarters:
        qs_by_fy[_fy_start_year(q)].append(q)
    for q in quarters:
        fy = _fy_start_year(q)
        asof = _month_end(_add_months(q, 2))
        label = fy_quarter(q)
        is_last = q == qs_by_fy[fy][-1]
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Cases"
        ws.append([f"IDVA Service - Case Extract - {label}"])
        ws.append([])
        ws.append(_IDVA_HEADER)
        fy_cases = [c for c in cases if _fy_start_year(c.referral) == fy and c.referral <= asof]
        for c in fy_cases:
            r = _case_row(c, asof)
            ws.append(r)
            latest[c.case_id] = r
        for col in "ABCDEFGHIJKLM":
            ws.column_dimensions[col].width = 16
        sc = wb.create_sheet("Screening")
        sc.append(["Month", "Incidents Screened"])
        m = date(fy, 4, 1)
        while m <= _month_start(asof):
            if m in screening:
                final, late = screening[m]
                # Screenings are logged late: a month's figure rises in each later file
                # of the year, and the year's last file carries the final figure.
                age = (_quarter_no(q) - _quarter_no(m))  # files since the month's own
                shown = final if is_last else max(0, final - late // (age + 1))
                sc.append([m, shown])
                latest_screen[m] = shown
            m = _add_months(m, 1)
        for row in sc.iter_rows(min_row=2, max_col=1):
            row[0].number_format = "yyyy-mm-dd"
        path = folder / f"idva_caseload_{fy}-{(fy + 1) % 100:02d}_Q{_quarter_no(q)}.xlsx"
        _deterministic_xlsx(wb, path, datetime(asof.year, asof.month, asof.day, 9, 0, 0))
        files.append(path)
        total += len(fy_cases)
    gt.files["idva_caseload"] = files
    gt.data_rows["idva_caseload"] = total
    gt.records["idva_caseload"] = len(latest)
    # Ground truth from the latest row of each case and of each screening month.
    acc: dict[str, dict[str, list[int]]] = {c: defaultdict(lambda: [0, 0]) for c in
                                            ("VA_IDVA_HIGH_RISK", "VA_REPEAT_RATE",
                                             "VA_MARAC_REFERRALS", "VA_SCREENED")}
    for r in latest.values():
        q = fy_quarter(r[1])  # type: ignore[arg-type]
        acc["VA_IDVA_HIGH_RISK"][q][0] += r[3] == "High"
        acc["VA_MARAC_REFERRALS"][q][0] += r[5] == "Yes"
        acc["VA_REPEAT_RATE"][q][0] += r[6] == "Yes"
        acc["VA_REPEAT_RATE"][q][1] += 1
        gt.personal.case_ids.add(str(r[0]))
    for m, v in latest_screen.items():
        acc["VA_SCREENED"][fy_quarter(m)][0] += v
    for c, byq in acc.items():
        gt.indicators[c] = {q: (_pct(*v) if c == "VA_REPEAT_RATE" else _count(v[0]))
                            for q, v in sorted(byq.items())}


# --------------------------------------------------------------------------------------
# MoJ reoffending
# --------------------------------------------------------------------------------------


def _rates(rng: random.Random, predicted: float, diff: float) -> tuple[str, str, str, str]:
    """Actual, predicted, difference and significance, consistent once rounded."""
    pred = _round_half_up(predicted, 2)
    act = _round_half_up(float(pred) * (1 + diff / 100), 2)
    target = _round_half_up(diff, 1)
    step = Decimal("0.01")
    for _ in range(50):  # nudge the actual rate until the published difference agrees
        d = _round_half_up(float((act - pred) / pred * 100), 1)
        if d == target:
            break
        act += step if d < target else -step
    d = _round_half_up(float((act - pred) / pred * 100), 1)
    sig = "Yes" if abs(d) >= Decimal("7.5") else "No"
    return f"{act:.2f}", f"{pred:.2f}", f"{d:.1f}", sig


def _write_moj(rng: random.Random, months: list[date], la_code: str, la_name: str,
               scale: float, cal: Calibration, moj_until: date | None, folder: Path,
               gt: GroundTruth) -> None:
    las = list(_MOJ_LAS)
    if la_code not in {c for c, *_ in las}:
        las.insert(1, (la_code, la_name, "National Probation Service",
                       max(40, round(1750 * scale))))
    quarters = [q for q in _idva_quarters(months)
                if moj_until is None or _add_months(q, 2) <= _month_start(moj_until)]
    files, total = [], 0
    own: dict[str, IndicatorValue] = {}
    for q in quarters:
        end = _add_months(q, 2)
        path = folder / f"moj_reoffending_{_month_key(end)}.csv"
        lines: list[list[str]] = []
        for code, name, trust, size in las:
            offenders = max(1, round(size * rng.uniform(0.94, 1.06)))
            if code == la_code and end in cal.moj_own:
                offenders, predicted, diff = cal.moj_own[end]
            else:
                predicted = rng.uniform(9.5, 14.5)
                diff = rng.gauss(-6, 8)
            if offenders < 30:
                act = pred = d = sig = ".."
            else:
                act, pred, d, sig = _rates(rng, predicted, diff)
            if code == la_code and offenders >= 30:
                own[fy_quarter(q)] = IndicatorValue(float(act), float(pred), float(d))
            # The csv module quotes "1,746" because of its comma, as the Ministry does.
            lines.append([code, name, trust, f"{offenders:,}", act, pred, d, sig])
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write("Local Adult Reoffending: actual and predicted rates by local authority\n")
            fh.write(f"Period: {q:%B %Y} to {end:%B %Y}\n\n")
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(_MOJ_HEADER)
            w.writerows(lines)
            fh.write("\nNotes:\n"
                     "1. Rates are suppressed (..) where fewer than 30 offenders are in the "
                     "cohort.\n"
                     "2. Difference is (actual - predicted) / predicted.\n")
        files.append(path)
        total += len(lines)
    gt.files["moj_reoffending"] = files
    gt.data_rows["moj_reoffending"] = total
    gt.records["moj_reoffending"] = total
    gt.indicators["RR_REOFFEND_DIFF"] = own


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


def generate_landing(landing: Path, *, la_code: str, la_name: str, first_month: date,
                     last_month: date, seed: int, scale: float = 1.0,
                     feeds: Sequence[str] = ALL, calibration: Calibration | None = None,
                     moj_until: date | None = None) -> GroundTruth:
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
    months = _months(first_month, last_month)
    if not months:
        raise ValueError("last_month is before first_month")
    cal = calibration or Calibration()
    gt = GroundTruth(la_code=la_code, la_name=la_name)
    # One random stream per feed, so asking for fewer feeds does not change the others.
    rngs = {f: random.Random(f"{seed}:{la_code}:{f}") for f in FEEDS}
    for f in feeds:
        (landing / f).mkdir(parents=True, exist_ok=True)
    if "police_crime" in feeds:
        crimes = _gen_police(rngs["police_crime"], months, la_code, la_name, scale, cal)
        _police_truth(crimes, gt)
        _write_police(crimes, months, landing / "police_crime", gt)
    if "rny_treatment" in feeds:
        rng = rngs["rny_treatment"]
        episodes = _gen_treatment(rng, months, scale)
        by_month, latest = _treatment_rows(rng, episodes, months, gt)
        _treatment_truth(latest, gt)
        _write_treatment(by_month, months, landing / "rny_treatment", gt)
    if "idva_caseload" in feeds:
        rng = rngs["idva_caseload"]
        quarters = _idva_quarters(months)
        cases, screening = _gen_idva(rng, quarters, scale, cal)
        _write_idva(rng, cases, screening, quarters, landing / "idva_caseload", gt)
    if "moj_reoffending" in feeds:
        _write_moj(rngs["moj_reoffending"], months, la_code, la_name, scale, cal, moj_until,
                   landing / "moj_reoffending", gt)
    return gt


# The published figures of the report of 4 December 2014 (INDICATORS.md).
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


def _demo_calibration() -> Calibration:
    def spread(first: date, n: int, total: int) -> dict[date, int]:
        ms = [_add_months(first, k) for k in range(n)]
        # Seasonal shape with a little fixed irregularity so months do not look planned.
        jitter = [1.0, 1.03, 0.97, 1.02, 0.99, 1.01, 0.98]
        return dict(zip(ms, _split(total, [_season(m) * jitter[k % 7]
                                           for k, m in enumerate(ms)])))

    return Calibration(
        ppv_by_month={**spread(date(2013, 4, 1), 7, PPV_APR_OCT_2013),
                      **spread(date(2014, 4, 1), 7, PPV_APR_OCT_2014)},
        da_by_month={**spread(date(2013, 4, 1), 6, DA_H1_2013),
                     **spread(date(2014, 4, 1), 6, DA_H1_2014)},
        idva_high_by_quarter={"2014/15 Q1": 101, "2014/15 Q2": 104},
        screened_by_month=spread(date(2014, 4, 1), 6, SCREENED_H1_2014),
        # 1,746 offenders; predicted 13.77%; 18.3% below (actual 11.25%), significant.
        moj_own={date(2013, 12, 1): (1746, 13.77, RR_DIFF_2013_Q3)},
        repeat_rate=0.29,
    )


# --------------------------------------------------------------------------------------
# Partner returns (SPEC.md section 5)
# --------------------------------------------------------------------------------------

PARTNER_CODES: dict[str, tuple[str, ...]] = {
    "probation": ("RR_EMPLOYMENT", "RR_ACCOMMODATION"),
    "iom": ("RR_IOM_PROLIFIC", "RR_IOM_HCCU", "RR_IOM_DA", "RR_IOM_GANG"),
    "gangs": ("GY_GANG_REFERRALS", "GY_CRISIS_CALLOUTS"),
    "courts": ("VA_COURT_PERPETRATORS", "VA_PROSECUTION_SUCCESS"),
    "yot": ("GY_YOUTH_FTE",),
}
PERCENT_CODES = {"RR_EMPLOYMENT", "RR_ACCOMMODATION", "VA_PROSECUTION_SUCCESS"}
# Typical quarterly sizes: (numerator share, denominator) for percentages, value for counts.
_RETURN_SHAPES: dict[str, tuple[float, int]] = {
    "RR_EMPLOYMENT": (0.44, 95), "RR_ACCOMMODATION": (0.86, 95),
    "VA_PROSECUTION_SUCCESS": (0.70, 125), "RR_IOM_PROLIFIC": (0, 66), "RR_IOM_HCCU": (0, 58),
    "RR_IOM_DA": (0, 9), "RR_IOM_GANG": (0, 40), "GY_GANG_REFERRALS": (0, 4),
    "GY_CRISIS_CALLOUTS": (0, 3), "VA_COURT_PERPETRATORS": (0, 225), "GY_YOUTH_FTE": (0, 30),
}
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


def _quarters(first: str, last: str) -> list[str]:
    out, (fy, q) = [], (int(first[:4]), int(first[-1]))
    while f"{fy}/{(fy + 1) % 100:02d} Q{q}" <= last:
        out.append(f"{fy}/{(fy + 1) % 100:02d} Q{q}")
        fy, q = (fy, q + 1) if q < 4 else (fy + 1, 1)
    return out


def partner_return_figures(quarters: Sequence[str], seed: int,
                           fixed: Mapping[str, Mapping[str, tuple[int, int] | int]] | None = None
                           ) -> dict[str, dict[str, IndicatorValue]]:
    """Every partner-return indicator for every quarter: fixed figures where given, else
    plausible ones drawn from the seed (deterministic)."""
    rng = random.Random(seed)
    figures: dict[str, dict[str, IndicatorValue]] = defaultdict(dict)
    for codes in PARTNER_CODES.values():
        for code in codes:
            share, size = _RETURN_SHAPES[code]
            for quarter in quarters:
                given = (fixed or {}).get(code, {}).get(quarter)
                if code in PERCENT_CODES:
                    if given is None:
                        denominator = max(1, size + rng.randint(-10, 10))
                        numerator = round(denominator * min(1, max(0, share + rng.uniform(-.05, .05))))
                        given = (numerator, denominator)
                    figures[code][quarter] = _pct(*given)
                else:
                    if given is None:
                        given = max(0, size + rng.randint(-max(1, size // 6), max(1, size // 6)))
                    figures[code][quarter] = _count(given)
    return dict(figures)


def write_partner_returns(landing: Path, figures: Mapping[str, Mapping[str, IndicatorValue]],
                          quarters: Sequence[str],
                          partners: Sequence[str] = tuple(PARTNER_CODES)) -> list[Path]:
    """One return per partner per quarter, laid out as SPEC.md section 5 describes."""
    folder = landing / "partner_returns"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for partner in partners:
        for quarter in quarters:
            wb = openpyxl.Workbook()
            sheet = wb.active
            sheet.title = "Return"
            sheet.append(["Indicator Code", "Period", "Numerator", "Denominator", "Value",
                          "Notes"])
            for code in PARTNER_CODES[partner]:
                figure = figures[code][quarter]
                if code in PERCENT_CODES:
                    sheet.append([code, quarter, figure.numerator, figure.denominator,
                                  round(100 * figure.numerator / figure.denominator, 1), None])
                else:
                    sheet.append([code, quarter, None, None, figure.value, None])
            fy, q = quarter[:4], quarter[-1]
            path = folder / f"partner_return_{partner}_{fy}-{quarter[5:7]}_Q{q}.xlsx"
            stamp = datetime(int(fy) + (q == "4"), {"1": 7, "2": 10, "3": 1, "4": 4}[q], 10)
            _deterministic_xlsx(wb, path, stamp)
            written.append(path)
    return written


def write_demo_landing(landing: Path) -> GroundTruth:
    """Write the bundled Wolverhampton demonstration: every file due by 4 December 2014.

    Police and treatment months 2012-04 to 2014-10, IDVA quarters 2012/13 Q1 to 2014/15 Q2,
    MoJ tables 2012-06 to 2013-12. Calibrated so that the report's published figures come
    out exactly under the latest-row-wins rules.
    """
    truth = generate_landing(landing, la_code=DEMO_LA_CODE, la_name=DEMO_LA_NAME,
                             first_month=DEMO_FIRST_MONTH, last_month=DEMO_LAST_MONTH,
                             seed=DEMO_SEED, calibration=_demo_calibration(),
                             moj_until=DEMO_MOJ_UNTIL)
    # Every partner's return from 2012/13 Q1 to 2014/15 Q2 (Q3's are due in January).
    quarters = _quarters("2012/13 Q1", "2014/15 Q2")
    figures = partner_return_figures(quarters, DEMO_SEED, _DEMO_RETURNS)
    truth.files["partner_returns"] = write_partner_returns(landing, figures, quarters)
    for code, by_quarter in figures.items():
        truth.indicators[code] = dict(by_quarter)
    return truth
