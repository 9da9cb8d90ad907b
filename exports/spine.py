"""Spine charts, as PHE Fingertips draws them, in inline SVG (readable with scripts off).

One horizontal bar per benchmark: the group's range from worst (left) to best (right), the
middle half of the group (25th to 75th percentile) darker, a line at the group's average and
a circle at the partnership, filled by whether it sits in the best or worst quarter of the
group. Drawn from ``exports.report_model.Benchmark`` alone.
"""

from __future__ import annotations

from html import escape

from exports.report_model import Benchmark

WIDTH, HEIGHT = 420, 34
BAR_TOP, BAR_HEIGHT = 10, 14
MARGIN = 8
COLOURS = {"best": "#1b7837", "middle": "#f2c14e", "worst": "#c0392b"}


def _position(value: float, worst: float, best: float) -> float:
    """x of ``value`` on a bar running from the worst figure (left) to the best (right)."""
    span = best - worst
    share = 0.5 if span == 0 else (value - worst) / span
    return MARGIN + share * (WIDTH - 2 * MARGIN)


def spine_band(benchmark: Benchmark) -> str:
    """Where the partnership sits: 'best' or 'worst' quarter of the group, else 'middle'."""
    low, high = benchmark.quartiles
    better_half_edge, worse_half_edge = (low, high) if benchmark.lower_is_better else (high, low)
    value = benchmark.value
    if benchmark.lower_is_better:
        if value <= better_half_edge:
            return "best"
        return "worst" if value >= worse_half_edge else "middle"
    if value >= better_half_edge:
        return "best"
    return "worst" if value <= worse_half_edge else "middle"


def spine_svg(benchmark: Benchmark) -> str:
    """The spine chart of one benchmark as an SVG element, with a title and description."""
    values = benchmark.others
    worst, best = (
        (max(values), min(values)) if benchmark.lower_is_better else (min(values), max(values))
    )
    low, high = benchmark.quartiles
    x_low, x_high = sorted((_position(low, worst, best), _position(high, worst, best)))
    x_mean = _position(benchmark.mean, worst, best)
    x_own = _position(benchmark.value, worst, best)
    band = spine_band(benchmark)
    title = escape(f"{benchmark.indicator}: the partnership against {benchmark.group}")
    description = escape(
        f"{benchmark.value:g} {benchmark.unit}; the group of {benchmark.count} runs from "
        f"{worst:g} (worst) to {best:g} (best), its middle half from {min(low, high):.1f} to "
        f"{max(low, high):.1f}, its average {benchmark.mean:.1f}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spine" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
        f"<title>{title}</title><desc>{description}</desc>"
        f'<rect x="{MARGIN}" y="{BAR_TOP}" width="{WIDTH - 2 * MARGIN}" height="{BAR_HEIGHT}" '
        'fill="#d9d9d9"/>'
        f'<rect x="{x_low:.1f}" y="{BAR_TOP}" width="{x_high - x_low:.1f}" '
        f'height="{BAR_HEIGHT}" fill="#8c8c8c"/>'
        f'<line x1="{x_mean:.1f}" x2="{x_mean:.1f}" y1="{BAR_TOP - 4}" '
        f'y2="{BAR_TOP + BAR_HEIGHT + 4}" stroke="#000" stroke-width="2"/>'
        f'<circle cx="{x_own:.1f}" cy="{BAR_TOP + BAR_HEIGHT / 2}" r="7" '
        f'fill="{COLOURS[band]}" stroke="#000"/>'
        "</svg>"
    )
