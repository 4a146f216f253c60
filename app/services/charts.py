"""Charts drawn on the server as SVG: no script and no internet needed, and
the same markup can go into a printed document."""
import base64
import re
from decimal import Decimal
from html import escape


def stacked_bars(series, labels, width=900, height=260, tick_every=None, links=None,
                 whole=False):
    """SVG of stacked bars. ``series`` is [(name, colour, values)], all the
    same length as ``labels``; values are non-negative numbers. ``links``:
    an address per bar (or None), opened by clicking the bar. ``whole``:
    the values are counts, so the scale's marks are whole numbers."""
    count = len(labels)
    totals = [sum(Decimal(s[2][i]) for s in series) for i in range(count)]
    top = max(totals, default=0) or 1
    if whole:
        top = max(4, -(-int(top) // 4) * 4)
    left, bottom, legend = 70, 30, 24
    plot_w, plot_h = width - left - 10, height - bottom - legend - 10
    step = plot_w / max(count, 1)
    bar_w = max(step * 0.8, 0.5)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'style="max-width:{width}px" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">'
    ]
    base_y = legend + plot_h
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = base_y - plot_h * fraction
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{_short(top * Decimal(str(fraction)))}</text>')
    tick_every = tick_every or max(1, count // 12)
    for i in range(count):
        x = left + i * step + (step - bar_w) / 2
        y = base_y
        link = links[i] if links else None
        if link:
            parts.append(f'<a href="{escape(link)}">')
        for name, colour, values in series:
            h = float(Decimal(values[i]) / top) * plot_h
            y -= h
            parts.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{bar_w:.2f}" '
                         f'height="{h:.2f}" fill="{escape(colour)}">'
                         f'<title>{escape(str(labels[i]))}: {escape(name)} {values[i]}</title>'
                         '</rect>')
        if link:
            parts.append("</a>")
        if i % tick_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{base_y + 16}" '
                         f'text-anchor="middle">{escape(str(labels[i]))}</text>')
    x = left
    for name, colour, _ in series:
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{escape(colour)}"/>')
        parts.append(f'<text x="{x + 16}" y="14">{escape(name)}</text>')
        x += 24 + 8 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def funnel(stages, width=600, row_height=34, links=None):
    """SVG of a sales funnel: one centred bar per stage, as wide as its
    share of the largest, with the stage's name on the left and its figure
    on the right. ``stages`` is [(name, value, caption)]; ``caption`` is the
    text drawn next to the bar (the value when empty)."""
    label_w, figure_w, gap = 190, 150, 4
    plot_w = width - label_w - figure_w
    height = max(len(stages), 1) * row_height + 8
    top = max((Decimal(v) for _, v, _ in stages), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" '
        f'style="max-width:{width}px" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="13">'
    ]
    for i, (name, value, caption) in enumerate(stages):
        y = 4 + i * row_height
        w = max(float(Decimal(value) / top) * plot_w, 2 if value else 0)
        x = label_w + (plot_w - w) / 2
        colour = FUNNEL_COLOURS[i % len(FUNNEL_COLOURS)]
        link = links[i] if links else None
        parts.append(f'<text x="{label_w - 8}" y="{y + row_height / 2 + 4:.1f}" '
                     f'text-anchor="end">{escape(_clip(name))}</text>')
        if link:
            parts.append(f'<a href="{escape(link)}">')
        parts.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" '
                     f'height="{row_height - gap}" fill="{colour}">'
                     f'<title>{escape(name)}: {escape(str(caption or value))}</title></rect>')
        if link:
            parts.append("</a>")
        parts.append(f'<text x="{label_w + plot_w + 8}" y="{y + row_height / 2 + 4:.1f}">'
                     f'{escape(str(caption or value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


FUNNEL_COLOURS = ("#337ab7", "#3f8fc4", "#5bc0de", "#5cb85c", "#8bc34a", "#f0ad4e",
                  "#e08e45")


def pdf_image_uri(svg, width, height):
    """A chart as a ``data:`` image for xhtml2pdf: fixed size instead of
    100 %, no links (svglib drops what is inside them), and the Cyrillic
    font, since svglib draws SVG text with its own fonts."""
    svg = re.sub(r"</?a\b[^>]*>", "", svg)
    svg = (svg.replace('width="100%"', f'width="{width}" height="{height}"', 1)
           .replace('font-family="sans-serif"', 'font-family="roboto"', 1))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _clip(text, limit=30):
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _short(value):
    """Whole units with thin spaces between thousands: no words to translate."""
    return f"{float(value):,.0f}".replace(",", "\u2009")
