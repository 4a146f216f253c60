"""Charts drawn on the server as SVG: no script and no internet needed, and
the same markup can go into a printed document."""
from decimal import Decimal
from html import escape


def stacked_bars(series, labels, width=900, height=260, tick_every=None):
    """SVG of stacked bars. ``series`` is [(name, colour, values)], all the
    same length as ``labels``; values are non-negative numbers."""
    count = len(labels)
    totals = [sum(Decimal(s[2][i]) for s in series) for i in range(count)]
    top = max(totals, default=0) or 1
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
        for name, colour, values in series:
            h = float(Decimal(values[i]) / top) * plot_h
            y -= h
            parts.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{bar_w:.2f}" '
                         f'height="{h:.2f}" fill="{escape(colour)}">'
                         f'<title>{escape(str(labels[i]))}: {escape(name)} {values[i]}</title>'
                         '</rect>')
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


def _short(value):
    """Whole units with thin spaces between thousands: no words to translate."""
    return f"{float(value):,.0f}".replace(",", "\u2009")
