"""Reading back the PDFs the app prints (pypdf, kept out of conftest.py)."""
import io

from pypdf import PdfReader


def pdf_text(data):
    """The text of every page of a PDF, each run of whitespace one space:
    a phrase reads the same whichever lines the layout broke it across."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
