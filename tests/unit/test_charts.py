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


def test_funnel_bars_are_centred_and_scaled_with_links():
    from app.services.charts import funnel

    svg = funnel([("Звонок", 10, "10"), ("Договор <x>", 5, "5 (50,0 %)"), ("Пусто", 0, "")],
                 links=["/a?x=1&y=2", None, None])
    rects = re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    (x1, w1), (x2, w2), (_, w3) = [(float(x), float(w)) for x, w in rects]
    assert abs(w2 - w1 / 2) < 0.01 and abs((x1 + w1 / 2) - (x2 + w2 / 2)) < 0.01
    assert w3 == 0
    assert '<a href="/a?x=1&amp;y=2">' in svg and "Договор &lt;x&gt;" in svg
    assert "5 (50,0 %)" in svg


def test_pdf_image_drops_links_and_sizes_the_chart():
    import base64

    from app.services.charts import funnel, pdf_image_uri

    uri = pdf_image_uri(funnel([("Звонок", 1, "")], links=["/x"]), 900, 42)
    svg = base64.b64decode(uri.split(",", 1)[1]).decode()
    assert "<a " not in svg and "</a>" not in svg
    assert 'width="900" height="42"' in svg and 'font-family="roboto"' in svg
