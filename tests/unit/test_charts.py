import re
from decimal import Decimal

from app.services.charts import stacked_bars


def test_bars_scale_to_the_largest_total_and_escape_labels():
    svg = stacked_bars(
        [("Долг", "#337ab7", [Decimal("75"), Decimal("50")]),
         ("Проценты <b>", "#f0ad4e", [Decimal("25"), Decimal("0")])],
        ["01.2026", "<script>"],
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "Проценты &lt;b&gt;" in svg
    heights = [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" '
                                            r'height="([\d.]+)" fill', svg)]
    # Rects go bar by bar, series by series: bar 2 holds half of bar 1.
    first, second = heights[0] + heights[1], heights[2] + heights[3]
    assert first > 0 and abs(second - first / 2) < 0.01


def test_empty_series_draws_axes_only():
    svg = stacked_bars([("A", "#000", [])], [])
    assert "<svg" in svg and "<title>" not in svg
