"""The treatment provider's monthly episode extract (docs/feeds.md §2).

Windows-1252 with smart quotes, as the provider's system exports it; an episode is shown
again in the file of every month it changes (referral, start, discharge), and its Keyworker
Notes carry invented names and addresses, so a test can prove none of them is loaded.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from core.periods import first_of_month, last_of_month, quarter_label
from orchestration.demonstration.common import dmy, month_label, months_between, season, yn
from orchestration.demonstration.model import GroundTruth, count_value, percent_value

# Names deliberately use characters outside ASCII but inside cp1252 (the provider's
# encoding): accents, the curly apostrophe.
_FIRST = [
    "José",
    "Seán",
    "Zoë",
    "Malgorzata",
    "Renée",
    "Chloë",
    "Siobhán",
    "Noël",
    "Aoife",
    "Gary",
    "Tracey",
    "Darren",
    "Kerry",
    "Wayne",
    "Priya",
    "Jürgen",
    "Inés",
]
_LAST = [
    "O’Connor",
    "D’Souza",
    "Müller",
    "Nuñez",
    "Patel",
    "Kowalski",
    "Brennan",
    "Ahmed",
    "O’Neill",
    "Hughes",
    "Begum",
    "Fernández",
    "Smith",
    "Kaur",
    "Dvořák",
]
_LAST = [n for n in _LAST if n.encode("cp1252", "ignore").decode("cp1252") == n]
_STREETS = [
    "Church Street",
    "Stafford Road",
    "Dudley Road",
    "Lichfield Street",
    "Park Lane",
    "Victoria Road",
    "Penn Road",
    "Bilston Street",
]
_NOTES = [
    "Seen by {name}; owes £{amount} – “engaging well”, lives at {address}",
    "Partner {name} called – says client “much calmer”, new address {address}",
    "DNA twice – {name} (sister) to be contacted at {address}, £{amount} fare paid",
    "Reviewed with {name}: “wants to reduce use”, staying at {address} – £{amount} arrears",
]

_RNY_HEADER = [
    "Client ID",
    "Date of Birth",
    "Sex",
    "Referral Date",
    "Referral Source",
    "Substance",
    "Class A Positive Test",
    "Treatment Start Date",
    "Discharge Date",
    "Discharge Reason",
    "IOM Cohort",
    "Required Assessment",
    "Mental Health Referral",
    "Keyworker Notes",
]


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


def generate_treatment(rng: random.Random, months: list[date], scale: float) -> list[_Episode]:
    """Referrals from a year before ``months`` (some clients returning), and their outcomes."""
    episodes: list[_Episode] = []
    used_ids: set[str] = set()
    returning: list[tuple[str, date, str, date]] = []  # (client, dob, sex, free from)
    # Start a year early so the first files carry starts and discharges of older referrals.
    sim = months_between(first_of_month(months[0], -12), months[-1])
    for m in sim:
        n_ref = max(0, round(rng.gauss(46 * scale * season(m), 4 * scale**0.5)))
        for _ in range(n_ref):
            ref = m.replace(day=rng.randint(1, last_of_month(m).day))
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
            source = rng.choices(
                ["Arrest Referral", "Court", "Probation", "Prison", "Self", "GP", "Other"],
                [22, 8, 14, 8, 25, 15, 8],
            )[0]
            substance = rng.choices(
                ["Opiates", "Non-opiates", "Alcohol", "Non-opiates and alcohol"], [35, 15, 35, 15]
            )[0]
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
                        done = rng.choice(
                            ["Completed - alcohol free", "Completed - occasional user"]
                        )
                    else:
                        done = rng.choice(["Completed - drug free", "Completed - occasional user"])
                    reason = rng.choices(
                        [done, "Dropped out", "Transferred", "Prison", "Died"], [45, 35, 10, 8, 2]
                    )[0]
            elif rng.random() < 0.6:
                discharge = ref + timedelta(days=rng.randint(14, 60))
                reason = rng.choice(["Declined treatment", "Dropped out"])
            iom = rng.random() < (0.3 if source in ("Court", "Probation", "Prison") else 0.05)
            mh = start is not None and rng.random() < 0.18
            episodes.append(
                _Episode(
                    client,
                    dob,
                    sex,
                    ref,
                    source,
                    substance,
                    class_a,
                    start,
                    discharge,
                    reason,
                    iom,
                    ra,
                    mh,
                )
            )
            if discharge is not None and reason != "Died":
                returning.append((client, dob, sex, discharge))
    return episodes


def _episode_row(e: _Episode, asof: date, note: str) -> list[str]:
    """The episode as the provider's system shows it at the end of a month."""
    started = e.start is not None and e.start <= asof
    done = e.discharge is not None and e.discharge <= asof
    return [
        e.client,
        dmy(e.dob),
        e.sex,
        dmy(e.referral),
        e.source,
        e.substance,
        e.class_a,
        dmy(e.start) if started else "",
        dmy(e.discharge) if done else "",
        e.reason if done else "",
        yn(e.iom),
        e.ra,
        # The mental health referral is made at assessment, once treatment starts.
        yn(e.mh and started),
        note,
    ]


def treatment_rows(
    rng: random.Random, episodes: list[_Episode], months: list[date], gt: GroundTruth
) -> tuple[dict[date, list[list[str]]], list[list[str]]]:
    """Each month's rows (an episode in every month it changes) and each episode's latest."""
    first, last = months[0], months[-1]
    by_month: dict[date, list[list[str]]] = defaultdict(list)
    latest: list[list[str]] = []
    pd = gt.personal
    for e in episodes:
        events = {first_of_month(d) for d in (e.referral, e.start, e.discharge) if d is not None}
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
                note = rng.choice(_NOTES).format(name=name, address=addr, amount=rng.randint(5, 90))
                pd.note_names.add(name)
                pd.note_addresses.add(addr)
            row = _episode_row(e, last_of_month(mm), note)
            by_month[mm].append(row)
        latest.append(row)
        pd.client_ids.add(e.client)
        pd.dates_of_birth.add(dmy(e.dob))
    for rows in by_month.values():
        rows.sort(key=lambda r: (datetime.strptime(r[3], "%d/%m/%Y"), r[0]))
    return by_month, latest


def treatment_truth(latest: list[list[str]], gt: GroundTruth) -> None:
    """The treatment indicators by quarter, from each episode's latest row."""
    cj = {"Arrest Referral", "Court", "Probation", "Prison"}
    acc: dict[str, dict[str, list[int]]] = {
        c: defaultdict(lambda: [0, 0])
        for c in (
            "SM_CJ_REFERRALS",
            "SM_CLASSA_ENGAGED",
            "SM_COMPLETIONS",
            "SM_RA_BREACHES",
            "SM_MH_REFERRALS",
        )
    }
    for r in latest:
        q = quarter_label(datetime.strptime(r[3], "%d/%m/%Y").date())
        for c in ("SM_CJ_REFERRALS", "SM_RA_BREACHES", "SM_MH_REFERRALS", "SM_CLASSA_ENGAGED"):
            acc[c][q]  # every referral quarter exists for referral-date indicators
        acc["SM_CJ_REFERRALS"][q][0] += r[4] in cj
        acc["SM_RA_BREACHES"][q][0] += r[11] == "Breach"
        acc["SM_MH_REFERRALS"][q][0] += r[12] == "Y"
        if r[4] == "Arrest Referral" and r[6] == "Y":
            acc["SM_CLASSA_ENGAGED"][q][1] += 1
            acc["SM_CLASSA_ENGAGED"][q][0] += r[7] != ""
        if r[8] and r[9] != "Transferred":
            dq = quarter_label(datetime.strptime(r[8], "%d/%m/%Y").date())
            acc["SM_COMPLETIONS"][dq][1] += 1
            acc["SM_COMPLETIONS"][dq][0] += r[9].startswith("Completed")
    for c, byq in acc.items():
        pct = c in ("SM_CLASSA_ENGAGED", "SM_COMPLETIONS")
        gt.indicators[c] = {
            q: (percent_value(*v) if pct else count_value(v[0])) for q, v in sorted(byq.items())
        }
    gt.records["rny_treatment"] = len(latest)


def write_treatment(
    by_month: dict[date, list[list[str]]], months: list[date], folder: Path, gt: GroundTruth
) -> None:
    """One CSV file a month, in the provider's encoding."""
    files, total = [], 0
    for m in months:
        path = folder / f"rny_treatment_{month_label(m)}.csv"
        # The provider's system exports Windows-1252, quoting only where needed.
        with open(path, "w", encoding="cp1252", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
            w.writerow(_RNY_HEADER)
            w.writerows(by_month.get(m, []))
        total += len(by_month.get(m, []))
        files.append(path)
    gt.files["rny_treatment"] = files
    gt.data_rows["rny_treatment"] = total
