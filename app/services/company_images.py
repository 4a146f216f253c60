"""The company's images on printed documents: the logo, the stamp and the
signatures of the director and the chief accountant.

The admin uploads them in the requisites (views/company.py). A file is
taken only if its content is a PNG or a JPEG (whatever its name says) of a
limited size and sane dimensions; it is kept in the uploads folder under a
generated name, as a note's file is (views/files.py), and the console's
file manager names the requisites as its owner (a FAB file column).

Printing: while the requisites' «Печать и подписи в документах» is on, a
template's ``company.logo``, ``company.stamp``, ``company.director_signature``
and ``company.accountant_signature`` hold a URI ``company-image:<hex>``
(empty otherwise, and when the file is gone); ``pdf_images`` maps those
URIs to the files for printing.html_to_pdf, whose link_callback embeds
exactly those files and nothing else of the uploads folder. The snippet
``print/_stamp_signatures.html`` (app/templates/print/) prints the
signature lines and «М.П.» with them."""
import io
import os
import re

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image

# The columns of Company, in the order the requisites show them.
IMAGES = ("logo", "stamp", "director_signature", "accountant_signature")
URI_PREFIX = "company-image:"
_STORED = re.compile(r"([0-9a-f]{32})_sep_.+", re.S)
_URI = re.compile(re.escape(URI_PREFIX) + r"([0-9a-f]{32})")
# The first bytes of each accepted format and its extension.
SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "PNG", "png"), (b"\xff\xd8\xff", "JPEG", "jpg"))
MIN_SIDE = 16  # pixels: less is not a picture of a stamp or a signature
MAX_SIDE = 5000  # pixels: a 1 MB file could unpack to gigabytes beyond
DEFAULT_MAX_MB = 1


class ImageRefused(ValueError):
    """An upload that is not an image the documents may carry; ``message``
    is the reason in the user's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def max_mb():
    return current_app.config.get("COMPANY_IMAGE_MAX_MB", DEFAULT_MAX_MB)


def _size(stream):
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


def kind_of(head):
    """("PNG", "png") or ("JPEG", "jpg") by the first bytes, else None."""
    for magic, name, ext in SIGNATURES:
        if head.startswith(magic):
            return name, ext
    return None


def check(stream, limit_mb=None):
    """The extension ("png" or "jpg") of the image in ``stream`` (a file
    object, left at its start); raises ImageRefused for anything else."""
    limit_mb = max_mb() if limit_mb is None else limit_mb
    if _size(stream) > limit_mb * 1024 * 1024:
        raise ImageRefused(_l("The image is too large: at most %(mb)s MB", mb=limit_mb))
    stream.seek(0)
    data = stream.read(limit_mb * 1024 * 1024 + 1)
    stream.seek(0)
    kind = kind_of(data[:8])
    if kind is None:
        raise ImageRefused(_l("The file is not an image: a PNG or JPEG file is needed"))
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            found = image.format
            if found == kind[0] and MIN_SIDE <= width <= MAX_SIDE \
                    and MIN_SIDE <= height <= MAX_SIDE:
                image.verify()
    except Exception as exc:  # any damage Pillow finds
        raise ImageRefused(_l("The image is damaged or cannot be read")) from exc
    if found != kind[0]:
        raise ImageRefused(_l("The file is not an image: a PNG or JPEG file is needed"))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ImageRefused(_l("The image must be from %(least)s to %(most)s pixels on "
                              "each side (this one is %(width)s × %(height)s)",
                              least=MIN_SIDE, most=MAX_SIDE, width=width, height=height))
    return kind[1]


def hex_of(stored):
    """The name on disk of a stored value ``<hex>_sep_<name>``, or None."""
    match = _STORED.fullmatch(stored or "")
    return match.group(1) if match else None


def _folder():
    return os.path.realpath(current_app.config["UPLOAD_FOLDER"])


def path_of(stored, folder=None):
    """The file of a stored value, if it is a file inside the uploads folder."""
    name = hex_of(stored)
    if name is None:
        return None
    folder = os.path.realpath(folder or _folder())
    path = os.path.realpath(os.path.join(folder, name))
    if os.path.dirname(path) != folder or not os.path.isfile(path):
        return None
    return path


def template_values(company):
    """{column: URI or ""}: what a template's ``company`` gets for each image."""
    shown = bool(getattr(company, "print_stamp_signatures", False))
    values = {}
    for name in IMAGES:
        stored = getattr(company, name, None) if shown else None
        values[name] = URI_PREFIX + hex_of(stored) if stored and path_of(stored) else ""
    return values


def pdf_images(company_values, folder=None):
    """{URI: file} of the images a template's ``company`` dict carries (the
    server built it; a template cannot change it)."""
    found = {}
    for name in IMAGES:
        uri = str((company_values or {}).get(name) or "")
        match = _URI.fullmatch(uri)
        if match:
            path = path_of(match.group(1) + "_sep_x", folder)
            if path:
                found[uri] = path
    return found

