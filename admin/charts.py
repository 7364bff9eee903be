"""Charts drawn on the server as inline SVG: no script, no CDN, nothing for a content security
policy to block, readable on a county intranet without internet, and printable.

Each chart carries its figures twice: as shapes with a <title> (hover text) and as a small table
under a <details> for screen readers and for copying numbers into a report.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

# Colours that stay apart for the common colour-vision deficiencies (Okabe–Ito).
GREEN, BLUE, ORANGE, RED, GREY, PURPLE, SKY = "#009E73", "#0072B2", "#E69F00", "#D55E00", "#999999", "#CC79A7", "#56B4E9"


@dataclass
class Series:
    label: str
    color: str
    values: list[int]


def _nice_max(value: int) -> int:
    """A round axis top at or above value (1, 2, 5 × 10ⁿ)."""
    if value <= 5:
        return 5
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _swatch(color: str) -> str:
    return f'<svg class="sw" width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="{color}"/></svg>'


def legend(series: list[Series]) -> Markup:
    items = "".join(f'<span class="key">{_swatch(s.color)}{escape(s.label)}</span>' for s in series)
    return Markup(f'<div class="legend">{items}</div>')


def _table(head: list[str], rows: Sequence[Sequence[object]]) -> str:
    th = "".join(f"<th>{escape(str(h))}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f'<details class="figures"><summary>看数字</summary><table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table></details>'


def stacked_columns(chart_id: str, labels: list[str], series: list[Series], *, title: str,
                    every: int = 7, width: int = 960, height: int = 230, css: str = "",
                    figures: bool = True) -> Markup:
    """Stacked columns, one per label (e.g. a day); `every` = how often an x label is written.
    The viewBox is drawn for one screen width (text scales with it), so a page may carry a wide
    and a narrow version and let CSS show the one that fits."""
    n = max(len(labels), 1)
    left, bottom, top = 30, 20, 8
    plot_w, plot_h = width - left - 6, height - bottom - top
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    ymax = _nice_max(max(totals, default=0))
    bar_w = plot_w / n
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{chart_id}-t" '
             f'class="chart {css}" id="{chart_id}" data-total="{sum(totals)}">',
             f'<title id="{chart_id}-t">{escape(title)}</title>']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" x2="{width - 6}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" class="ylab">{int(ymax * frac)}</text>')
    for i, label in enumerate(labels):
        x = left + i * bar_w
        y = top + plot_h
        for s in series:
            v = s.values[i]
            if not v:
                continue
            h = plot_h * v / ymax
            y -= h
            parts.append(f'<rect x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" height="{h:.1f}" '
                         f'fill="{s.color}"><title>{escape(label)} {escape(s.label)} {v}</title></rect>')
        if i % every == 0 or (i == len(labels) - 1 and i % every > every // 2):
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 6}" class="xlab">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts) + (column_figures(labels, series) if figures else ""))


def column_figures(labels: list[str], series: list[Series]) -> Markup:
    """The numbers behind a column chart, folded away under 看数字."""
    rows = [[label] + [s.values[i] for s in series] for i, label in enumerate(labels)]
    return Markup(_table(["日期"] + [s.label for s in series], rows))


def hbars(chart_id: str, rows: list[tuple[str, list[int]]], series: list[Series] | None = None, *,
          title: str, link: dict[str, str] | None = None, label_head: str = "", show_legend: bool = True) -> Markup:
    """Horizontal bars, optionally stacked (`series` gives the parts' labels and colours; the
    values of each row are then one per series). Labels stay HTML so long Chinese text wraps;
    each bar is a small SVG whose parts are sized by attributes (no inline styles)."""
    series = series or [Series("数量", BLUE, [])]
    top = max((sum(v) for _, v in rows), default=0)
    out = [f'<div class="hbars" id="{chart_id}" role="img" aria-label="{escape(title)}">']
    for label, values in rows:
        x, segs = 0.0, []
        for s, v in zip(series, values):
            if v:
                w = 100 * v / top if top else 0
                segs.append(f'<rect x="{x:.2f}" width="{w:.2f}" height="10" fill="{s.color}">'
                            f'<title>{escape(label)} {escape(s.label)} {v}</title></rect>')
                x += w
        name = escape(label)
        if link and label in link:
            name = f'<a href="{escape(link[label])}">{name}</a>'
        out.append(f'<div class="hbar" data-label="{escape(label)}" data-value="{sum(values)}">'
                   f'<span class="lab">{name}</span><svg class="track" viewBox="0 0 100 10" '
                   f'preserveAspectRatio="none" aria-hidden="true">{"".join(segs)}</svg>'
                   f'<span class="val">{sum(values)}</span></div>')
    if not rows:
        out.append('<p class="hint">暂无数据</p>')
    out.append("</div>")
    table = _table([label_head or "项目"] + [s.label for s in series] + (["合计"] if len(series) > 1 else []),
                   [[label] + list(values) + ([sum(values)] if len(series) > 1 else []) for label, values in rows])
    return Markup((str(legend(series)) if len(series) > 1 and show_legend else "") + "".join(out) + table)
