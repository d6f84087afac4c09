"""Drawing a tenant's letter: HTML laid out as a UK letter, made into a tagged PDF (PDF/UA-1) by
WeasyPrint. Why WeasyPrint (it draws the dossier and subject access PDFs too, drawing/pdf.py):
it lays text out with Pango (HarfBuzz shaping, bidirectional text, a font chosen per script
through fontconfig) and tags what it draws, so a screen reader gets headings, reading order and
language; reportlab, used before, wrote no structure tree and neither shaped Arabic nor ran it
right to left.

What goes into a letter is decided by workflows/register/letters.py (`view`); only layout lives
here. Every value is escaped (Jinja's autoescape)."""
import functools
import subprocess
from pathlib import Path

from workflows.platform.errors import WorkflowError

# the fonts a letter is set in, one per script UK tenants' names are written in: Noto Sans
# (Latin with Latin Extended and Vietnamese, Greek, Cyrillic), Arabic (also Urdu, Persian),
# Bengali, Gurmukhi (Punjabi), and CJK (Chinese, Japanese, Korean); Debian's fonts-noto-core
# and fonts-noto-cjk install them (.ci/run does; README "Start here")
FONTS = ("Noto Sans", "Noto Sans Arabic", "Noto Sans Bengali", "Noto Sans Gurmukhi", "Noto Sans CJK SC")
FONT_PACKAGES = "fonts-noto-core fonts-noto-cjk"


class FontsMissing(WorkflowError):
    """The fonts letters need are not installed: say which and how to install them, rather than
    print a tenant's name as empty boxes."""


@functools.lru_cache(maxsize=1)
def _installed_families() -> frozenset[str]:
    try:
        listed = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(name.strip() for line in listed.splitlines() for name in line.split(","))


def check_fonts() -> None:
    """Refuse to draw a letter without the fonts for every script, naming those missing."""
    missing = [f for f in FONTS if f not in _installed_families()]
    if missing:
        raise FontsMissing(f"letters cannot be drawn: the fonts {', '.join(missing)} are not installed, so "
                           f"names in other scripts would print as empty boxes; install Debian's "
                           f"{FONT_PACKAGES} (apt-get install {FONT_PACKAGES}) and try again")


@functools.lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]))
    return env.get_template("letter.html")


def html(view: dict) -> str:
    """The letter as HTML: the same page for the PDF and for a preview."""
    return _template().render(letter=view, fonts=", ".join(f'"{f}"' for f in FONTS))


def body_html(view: dict) -> str:
    """The letter's page body alone, for a preview inside a web page (escaped, as the PDF's)."""
    from markupsafe import Markup
    page = html(view)
    return Markup(page[page.index("<body>") + len("<body>"):page.index("</body>")])


def pdf(view: dict) -> bytes:
    """The letter as an A4 PDF/UA-1: tagged (headings, paragraphs, the address), with its
    language and title, every glyph from an installed Noto font."""
    check_fonts()
    from weasyprint import HTML
    return HTML(string=html(view)).write_pdf(pdf_variant="pdf/ua-1")


def text(view: dict) -> str:
    """The letter as plain text, laid out as on paper (for the command line and e-mail)."""
    out = [view["from_name"], *view["from_address"]]
    out += [f"Telephone: {view['telephone']}"] if view["telephone"] else []
    out += [f"E-mail: {view['email']}"] if view["email"] else []
    out += ["", view["to_name"], *view["to_address"], ""] if view["to_name"] else [""]
    out += [f"Date: {view['date']}", f"Our reference: {view['our_reference']}",
            f"Your reference: {view['your_reference']}", "", view["title"], ""]
    for part in view["paragraphs"]:
        out += ([part["heading"]] if part["heading"] else []) + part["lines"] + [""]
    if view["appeal"]:
        out += ["How to appeal"] + ([view["appeal"]["when"]] if view["appeal"]["when"] else []) \
            + [view["appeal"]["how"], ""]
    out += ["Yours sincerely,", "", view["signer_name"],
            f"{view['signer_role']}, {view['from_name']}" if view["signer_role"] else view["from_name"]]
    out += [f"E-mail: {view['signer_email']}"] if view["signer_email"] else []
    out += [f"Telephone: {view['telephone']}"] if view["telephone"] else []
    return "\n".join(out) + "\n"
