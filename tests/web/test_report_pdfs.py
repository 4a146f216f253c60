"""The statistics and funnel PDFs as a person reads them: no header
or cell is drawn over its neighbour. xhtml2pdf breaks text at
spaces only and draws a longer word across the next column, so the tables
are laid out by measuring (printing.table_layout); these tests read every
piece of text back out of the PDF with its position and font and check
that no two on one line overlap (the reports themselves:
tests/web/test_stats.py, test_report_headers_do_not_overlap)."""
import io
from collections import defaultdict

from pypdf import PdfReader

from app.services.printing import PAGE_TEXT_WIDTH, table_layout, text_width


def _pieces(data):
    """(page, y, x, text, width) of every piece of text drawn unscaled (the
    tables and headings; the charts are drawn scaled)."""
    found = []
    for number, page in enumerate(PdfReader(io.BytesIO(data)).pages):
        def visit(text, cm, tm, font, size, number=number):
            text = text.strip()
            if not text or abs(tm[0] * cm[0] - 1) > 1e-6 or not size:
                return
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            bold = "Bold" in str((font or {}).get("/BaseFont", ""))
            found.append((number, round(y * 2) / 2, x, text, text_width(text, size, bold)))

        page.extract_text(visitor_text=visit)
    return found


def overlaps(data):
    """Pairs of texts on one line of a page where the first runs into the next."""
    lines = defaultdict(list)
    for page, y, x, text, width in _pieces(data):
        lines[(page, y)].append((x, text, width))
    clashes = []
    for pieces in lines.values():
        pieces.sort()
        for (x1, t1, w1), (x2, t2, _) in zip(pieces, pieces[1:]):
            if x1 + w1 > x2 + 0.5:
                clashes.append((t1, t2, round(x1 + w1 - x2, 1)))
    return clashes


def test_the_check_sees_an_overlap():
    """The same check on a table laid out as before (equal shares of 7 % for
    long header words) finds the clash: the test above can fail."""
    from app.services.printing import html_to_pdf

    cells = "".join(f'<th width="7%" style="text-align: right">{w}</th>'
                    for w in ("Задачи", "Выполнено", "Обработка"))
    html = (f'<table style="font-size: 8pt; width: 100%"><tr><th width="79%">Сотрудник</th>'
            f"{cells}</tr></table>")
    assert overlaps(html_to_pdf(html))


def test_layout_gives_each_column_its_longest_word():
    header = ["Сотрудник", "Задачи", "Выполнено", "В обработке", "Отказы клиентов", "Брак",
              "Выигранные сделки, ₽", "Выполненные заявки, ₽", "Прибыль, ₽"]
    rows = [["Тестов Manager", "7", "3", "2", "1", "1", "10\u00a0000,00", "2\u00a0000,50",
             "12\u00a0000,50"]]
    layout = table_layout(header, rows)
    assert layout["size"] == 8.0 and abs(sum(layout["widths"]) - 100) < 0.1
    for index, title in enumerate(header):
        room = layout["widths"][index] / 100 * PAGE_TEXT_WIDTH - 6
        longest = max(text_width(w, 8.0, bold=True) for w in title.split(" "))
        assert room >= longest and room >= text_width(rows[0][index], 8.0), title


def test_layout_shrinks_the_font_when_the_words_cannot_fit():
    header = [f"Заголовокдлинный{i}" for i in range(12)]
    layout = table_layout(header, [])
    assert layout["size"] < 8.0
