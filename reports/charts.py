"""Small server-rendered SVG charts for the overview page: no script, no third-party
assets, nothing the content security policy has to allow."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator

BAR = "#417690"
# What fits in a bar chart's 180-pixel label column at 12 px.
LABEL_CHARS = 26


def _n(value: float) -> str:
    return f"{value:.1f}"


def column_chart(
    points: Sequence[tuple[str, int]], *, title: str, width: int = 720, height: int = 160
) -> SafeString:
    """Vertical bars, one per point (e.g. one per day); labels of first and last."""
    peak = max((n for _, n in points), default=0) or 1
    step = width / max(len(points), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
        (
            (
                _n(i * step),
                _n(height - n / peak * (height - 20)),
                _n(max(step - 1, 1)),
                _n(n / peak * (height - 20)),
                BAR,
                label,
                n,
            )
            for i, (label, n) in enumerate(points)
        ),
    )
    first = points[0][0] if points else ""
    last = points[-1][0] if points else ""
    return format_html(
        '<svg class="testigo-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'width="{}" height="{}" xmlns="http://www.w3.org/2000/svg">'
        '<text x="0" y="12" font-size="11">max {}</text>{}'
        '<text x="0" y="{}" font-size="11">{}</text>'
        '<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text></svg>',
        title, width, height + 16, width, height + 16, peak, bars,
        height + 14, first, width, height + 14, last,
    )  # fmt: skip


def bar_chart(
    rows: Sequence[tuple[str, int]], *, title: str, width: int = 480, row_height: int = 20
) -> SafeString:
    """Horizontal bars with their labels and counts, for categories."""
    peak = max((n for _, n in rows), default=0) or 1
    label_width = 180
    space = width - label_width - 50
    body = format_html_join(
        "",
        # A long label is cut to its room (whole in the tooltip): it must not run into
        # its bar.
        '<text x="0" y="{}" font-size="12"><title>{}</title>{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>'
        '<text x="{}" y="{}" font-size="12">{}</text>',
        (
            (
                i * row_height + 14,
                label,
                Truncator(label).chars(LABEL_CHARS),
                label_width,
                i * row_height + 3,
                _n(n / peak * space),
                row_height - 6,
                BAR,
                _n(label_width + n / peak * space + 4),
                i * row_height + 14,
                n,
            )
            for i, (label, n) in enumerate(rows)
        ),
    )
    total_height = max(len(rows), 1) * row_height
    return format_html(
        '<svg class="testigo-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'width="{}" height="{}" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        title, width, total_height, width, total_height, body,
    )  # fmt: skip
