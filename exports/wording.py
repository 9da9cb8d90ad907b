"""How figures are written: numbers, RAG and direction in words, and the generated sentences.

The sentences follow the register of the 2014 progress report ("744 public place violence
offences year to date, 107 more than the same period last year (+16.8%)"). Every number comes
from the data passed in; only the nouns are written here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from core.periods import year_to_date_words
from exports.disclosure import SUPPRESSED, is_suppressed
from exports.report_model import Indicator

# What is counted, as a sentence names it after the number ("744 public place violence
# offences"); percentages read "44.7% of offenders were ...".
NOUNS = {
    "PV_PPV": "public place violence offences",
    "VA_DA_CRIMES": "domestic abuse crimes reported to the police",
    "GY_KNIFE_FIREARM": "knife and firearm crimes",
    "SM_CJ_REFERRALS": "criminal justice referrals into treatment",
    "SM_RA_BREACHES": "Required Assessment breaches",
    "SM_MH_REFERRALS": "referrals on to mental health services",
    "VA_IDVA_HIGH_RISK": "high-risk victims supported by the IDVA service",
    "VA_MARAC_REFERRALS": "cases referred to MARAC",
    "VA_SCREENED": "incidents involving children or pregnant women screened",
    "RR_IOM_PROLIFIC": "prolific offenders managed by IOM",
    "RR_IOM_HCCU": "high crime causing drug users managed by IOM",
    "RR_IOM_DA": "domestic abuse perpetrators managed by IOM",
    "RR_IOM_GANG": "gang-related offenders managed by IOM",
    "GY_GANG_REFERRALS": "referrals to gang exit services",
    "GY_CRISIS_CALLOUTS": "crisis intervention call-outs for gang tensions",
    "GY_YOUTH_FTE": "first-time entrants to the youth justice system",
    "VA_COURT_PERPETRATORS": "domestic abuse perpetrators brought before the specialist and "
    "Crown courts",
    "SM_CLASSA_ENGAGED": "of Class A positive arrestees started treatment",
    "SM_COMPLETIONS": "of treatment discharges were successful completions",
    "VA_REPEAT_RATE": "of IDVA cases were repeat victims",
    "RR_EMPLOYMENT": "of offenders were in stable employment at the end of their order or licence",
    "RR_ACCOMMODATION": "of offenders were in stable accommodation at the end of their order "
    "or licence",
    "VA_PROSECUTION_SUCCESS": "of domestic abuse prosecutions were successful",
    "PC_TOTAL": "crimes recorded (all types but anti-social behaviour)",
    "PC_ANTI_SOCIAL_BEHAVIOUR": "incidents of anti-social behaviour recorded",
}
STATUS_WORDS = {
    "ok": "Complete",
    "pending": "Pending (not yet due)",
    "missing": "Missing (overdue)",
    "suspended": "Suspended",
    "not_expected": "Not expected",
    None: "No data",
}
DIRECTION_WORDS = {
    "improving": "▲ Improving",
    "worsening": "▼ Worsening",
    "no change": "► No change",
    None: "Not assessed",
}
NOT_RATED = "Not rated"


def noun(indicator: Indicator) -> str:
    """What the indicator counts, for a sentence."""
    if indicator.code in NOUNS:
        return NOUNS[indicator.code]
    name = indicator.name[:1].lower() + indicator.name[1:]
    return name if indicator.unit == "count" else f"for {name}"


def number(value: Any, unit: str, empty: str = "N/A") -> str:
    """A figure as the report prints it: ``1,354``, ``44.7%``, ``-18.3%``, ``[c]``."""
    if value is None:
        return empty
    if is_suppressed(value):
        return SUPPRESSED
    if unit == "count":
        return f"{round(float(value)):,}"
    if unit == "percent_diff":
        return f"{float(value):+.1f}%".replace("-", "−")
    return f"{float(value):.1f}%"


def rag_word(indicator: Indicator) -> str:
    """Green, Amber, Red, or why there is no rating."""
    rag = indicator.row.get("rag_status")
    if rag:
        return rag
    if indicator.target is None:
        return "No target"
    return NOT_RATED


def direction_word(indicator: Indicator) -> str:
    """The direction of travel in words, with an arrow that is not the only signal."""
    if indicator.polarity == "none":
        return "No polarity"
    return DIRECTION_WORDS.get(indicator.row.get("direction"), "Not assessed")


def _comparison(now: Any, before: Any, unit: str, period: str) -> str | None:
    """', 107 more than the same period last year (+16.8%)' or None when not comparable."""
    if now is None or before is None or is_suppressed(now) or is_suppressed(before):
        return None
    now, before = float(now), float(before)
    if unit == "count":
        change = round(now) - round(before)
        if change == 0:
            return f"the same as {period}"
        word = "more" if change > 0 else "fewer"
        percent = f" ({100 * change / before:+.1f}%)" if before else ""
        return f"{abs(change):,} {word} than {period}{percent}"
    change = round(now - before, 1)
    if change == 0:
        return f"the same as {period}"
    word = "higher" if change > 0 else "lower"
    return f"{abs(change):.1f} percentage points {word} than {period} ({number(before, unit)})"


def _target_clause(indicator: Indicator, value: Any) -> str | None:
    if indicator.target is None or value is None or is_suppressed(value):
        return None
    rag = indicator.row.get("rag_status")
    if indicator.public and indicator.row.get("rag_withheld"):
        # The public version withholds a rating the figure as shown would not give
        # (exports/report_public.py), so no gap is stated against the shown figure either.
        return (
            f"against a target of {number(indicator.target, indicator.unit)} "
            f"({NOT_RATED} in this version: the figure as shown and the unrounded figure would "
            "be rated differently)"
        )
    # In the public version too the gap is the shown figure's: its rating is the one the shown
    # figure gives (exports/report_public.py).
    gap = float(value) - float(indicator.target)
    unit_word = "" if indicator.unit == "count" else " percentage points"
    if rag == "Green":
        how = "target met"
    elif indicator.unit == "count":
        how = f"{abs(round(gap)):,} {'over' if gap > 0 else 'short of'} the target"
    else:
        how = f"{abs(gap):.1f}{unit_word} {'above' if gap > 0 else 'below'} the target"
    return (
        f"against a target of {number(indicator.target, indicator.unit)} "
        f"({rag or NOT_RATED}: {how})"
    )


def _count_phrase(value: Any, what: str) -> str:
    if is_suppressed(value):
        return f"{SUPPRESSED} {what} (a count from 1 to 7, suppressed)"
    return f"{number(value, 'count')} {what}"


def _reoffending(value: Any, quarter: str) -> str:
    side = "below" if float(value) < 0 else "above"
    return f"reoffending {abs(float(value)):.1f}% {side} the predicted rate ({quarter})"


def headline(indicator: Indicator, quarter: str) -> str:
    """The generated sentence for the quarter, or the data note when there is no figure."""
    row = indicator.row
    what = noun(indicator)
    status = indicator.status
    if status != "ok" or row.get("value") is None:
        return data_note(indicator)
    value, ytd = row.get("value"), row.get("ytd_value")
    parts: list[str]
    if indicator.unit == "percent_diff":
        text = _reoffending(value, quarter)
        parts = [text[:1].upper() + text[1:]]
        clause = _target_clause(indicator, value)
        if clause:
            parts.append(clause)
        return ", ".join(parts) + "."
    if indicator.aggregation == "latest":
        lead = (
            _count_phrase(value, what)
            if indicator.unit == "count"
            else f"{number(value, indicator.unit)} {what}"
        )
        parts = [f"{lead} at the end of {quarter}"]
        comparison = _comparison(
            value, row.get("prev_year_value"), indicator.unit, "a year earlier"
        )
    elif ytd is not None:
        ytd_words = f"year to date ({year_to_date_words(quarter)})"
        lead = (
            _count_phrase(ytd, what)
            if indicator.unit == "count"
            else f"{number(ytd, indicator.unit)} {what}"
        )
        parts = [f"{lead} {ytd_words}"]
        comparison = _comparison(
            ytd, row.get("ytd_prev_value"), indicator.unit, "the same period last year"
        )
        value = ytd
    else:
        lead = (
            _count_phrase(value, what)
            if indicator.unit == "count"
            else f"{number(value, indicator.unit)} {what}"
        )
        parts = [f"{lead} in {quarter}"]
        comparison = _comparison(
            value, row.get("prev_year_value"), indicator.unit, "the same quarter last year"
        )
    if comparison:
        parts.append(comparison)
    clause = _target_clause(indicator, value)
    if clause:
        parts.append(clause)
    sentence = ", ".join(parts) + "."
    return sentence[:1].upper() + sentence[1:]


def data_note(indicator: Indicator) -> str:
    """'Data not available: <reason>.' with the provisional and last published figures."""
    row = indicator.row
    status = indicator.status
    reason = row.get("status_note")
    if status == "not_expected":
        reason = "no data is expected for this quarter" + (f" ({reason})" if reason else "")
    elif status == "ok":
        reason = reason or "no figure was returned for this quarter"
    elif not reason:
        reason = STATUS_WORDS.get(status, status).lower()
    text = f"Data not available: {reason.rstrip('.')}."
    provisional = row.get("provisional_value")
    if provisional is not None and status in ("pending", "missing"):
        text += (
            f" Provisional figure so far: {number(provisional, indicator.unit)} "
            "(incomplete; not for publication as a quarterly figure)."
        )
    last = indicator.last_published
    if last:
        if indicator.unit == "percent_diff" and last.get("value") is not None:
            said = _reoffending(last["value"], last["fiscal_quarter"])
            rag = f", {last['rag_status']}" if last.get("rag_status") else ""
            text += f" Last published figure: {said}{rag}."
        elif last.get("value") is not None:
            text += (
                f" Last published figure: {number(last['value'], indicator.unit)} "
                f"in {last['fiscal_quarter']}."
            )
        else:
            text += f" Last published figure: {last['fiscal_quarter']}."
    return text


def latest_position(indicator: Indicator) -> str | None:
    """'Latest position: 744 public place violence offences year to date as at 31 October
    2014, 107 more than the same period last year (+16.8%).'"""
    position = indicator.latest_position
    if not position:
        return None
    through: date = position["through"]
    text = (
        f"Latest position: {_count_phrase(position['value'], noun(indicator))} year to date "
        f"as at {through.day} {through:%B %Y}"
    )
    comparison = _comparison(
        position["value"], position["previous"], "count", "the same period last year"
    )
    return text + (f", {comparison}" if comparison else "") + "."
