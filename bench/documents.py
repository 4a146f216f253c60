"""Printing an invoice: the seeded "Счёт на оплату" template rendered in the
sandbox and converted to PDF, one at a time and 100 in a row (target: at
most 200 ms per page). No database: the context is the editor's sample
data with filled company requisites, so the figures are the renderer's.

Run alone with ``python -m bench.documents``."""
import io
import time
from types import SimpleNamespace

from bench.common import peak_rss_mb, repeats, report, timed


class _NoDatabase:
    """What the editor's sample context asks a session: the company (the one
    above) and the custom fields of each kind of record (none)."""

    def __init__(self, company):
        self.company = company

    def get(self, model, pk):
        return self.company

    def scalars(self, query):
        return iter(())


def _context(lines):
    from app.models import Company
    from app.services import documents

    company = Company(id=1, name="ООО «Сделка»", inn="7707083893", kpp="770701001",
                      ogrn="1027700132195", bank_name="ПАО Сбербанк", bik="044525225",
                      settlement_account="40702810938000000001",
                      corr_account="30101810400000000225", postcode="101000",
                      director_name="Петров П. П.", director_position="Генеральный директор",
                      legal_address="г. Москва, ул. Мясницкая, д. 1", actual_address="")
    session = _NoDatabase(company)
    user = SimpleNamespace(full_name="Иванова Мария Петровна", last_name="Иванова",
                           first_name="Мария", middle_name="Петровна",
                           position="Менеджер", phone="+74950000000",
                           email="manager@example.ru")
    context = documents.sample_context(session, "invoice", user)
    row = context["invoice"]["lines"][0]
    context["invoice"]["lines"] = [dict(row, number=n, description=f"Позиция № {n}")
                                   for n in range(1, lines + 1)]
    total = row["total"] * lines
    context["invoice"].update(subtotal=row["amount"] * lines,
                              tax_amount=row["tax_amount"] * lines, total=total)
    return context


def _pages(pdf):
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def run():
    from app.services import documents, printing
    from app.services.seed import SEED_TEMPLATES_DIR

    body = (SEED_TEMPLATES_DIR / "invoice.html").read_text(encoding="utf-8")
    for lines in (2, 60):
        context = _context(lines)
        html = documents.render_html(body, context)
        pdf = printing.html_to_pdf(html)  # warms fonts and caches
        pages = _pages(pdf)
        median, p95 = timed(lambda: documents.render_html(body, context), 50)
        report(f"[documents] invoice of {lines} lines: template to HTML",
               median_ms=median, p95_ms=p95)
        median, p95 = timed(lambda: documents.render_pdf(body, context), 20)
        report(f"[documents] invoice of {lines} lines: one PDF ({pages} page(s), "
               f"{len(pdf)} bytes)", median_ms=median, p95_ms=p95,
               per_page_ms=median / pages)
    context = _context(2)
    count = repeats(100)
    start = time.perf_counter()
    for _ in range(count):
        documents.render_pdf(body, context)
    elapsed = time.perf_counter() - start
    report(f"[documents] {count} invoices in a row", total_s=elapsed,
           per_invoice_ms=elapsed * 1000 / count, target_ms_per_page=200.0)
    report("[documents] process", peak_rss_mb=peak_rss_mb())


if __name__ == "__main__":
    run()
