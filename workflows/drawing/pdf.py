"""Drawing documents as PDF: a marker dossier, a subject access export. Like a tenant's letter
(workflows/drawing/letter.py), each is HTML made into a tagged PDF/UA-1 by WeasyPrint, set in the
letters' Noto fonts: a subject access export goes to the tenant, whose name may be written in any
script, and to a screen reader. Only layout lives here; what goes into each (and what is withheld)
is decided by the rules that call it (workflows/compliance/exports.py). Every piece of recorded
text is escaped."""
import functools
from pathlib import Path

from markupsafe import Markup

from workflows.drawing import letter
from workflows.platform import clock, wording

_HEADINGS = {"title": "h1", "h2": "h2", "h3": "h3"}


def _css_string(text: str) -> str:
    """Text as a quoted CSS string (the page footer's), every character but plain ones escaped:
    a customer's reference in a title can then neither end the string nor the style sheet."""
    return '"' + "".join(c if c.isalnum() or c in " ·:.,-_" else f"\\{ord(c):x} " for c in text) + '"'


@functools.lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html"]))
    return env.get_template("document.html")


class Document:
    """A small document builder: headings, paragraphs and "label: value" lines, drawn as one PDF."""

    def __init__(self, title: str, author: str, language: str = "en-GB"):
        self.title, self.author, self.language = title, author, language
        self.parts: list[Markup] = []

    def para(self, text, style="body"):
        lines = Markup("").join(Markup('<span class="line">{}</span>').format(line)
                                for line in str(text).split("\n"))
        if style in _HEADINGS:
            self.parts.append(Markup("<{0}>{1}</{0}>").format(Markup(_HEADINGS[style]), lines))
        else:
            self.parts.append(Markup('<p class="{}">{}</p>').format(style, lines))

    def pairs(self, items: dict, style="body"):
        for key, value in items.items():
            if value in (None, "", [], {}):
                continue
            if isinstance(value, (list, tuple)):
                value = "; ".join(map(str, value))
            elif isinstance(value, dict):
                value = "; ".join(f"{k}: {v}" for k, v in value.items() if v not in (None, ""))
            self.parts.append(Markup('<p class="{}"><strong>{}</strong>: {}</p>').format(style, str(key), str(value)))

    def heading(self, text, level="h2"):
        self.para(text, level)

    def space(self, mm_=3):
        self.parts.append(Markup('<div style="height: {}mm"></div>').format(int(mm_)))

    def html(self) -> str:
        return _template().render(title=self.title, author=self.author, language=self.language, parts=self.parts,
                                  footer=Markup(_css_string(f"{self.title} · page ")),
                                  fonts=", ".join(f'"{f}"' for f in letter.FONTS))

    def build(self) -> bytes:
        """The document as an A4 PDF/UA-1: tagged, with its language and title; refused, naming the
        fonts, where those for every script are not installed (never a name printed as boxes)."""
        letter.check_fonts()
        from weasyprint import HTML
        return HTML(string=self.html()).write_pdf(pdf_variant="pdf/ua-1")


def _when(moment):
    return wording.moment(moment, blank="-")


def _iso_when(text):
    """A moment an export holds as ISO text, in words (an export's JSON keeps the ISO)."""
    from datetime import datetime
    try:
        return wording.moment(datetime.fromisoformat(text)) if text else None
    except (TypeError, ValueError):
        return text


def _readable(row: dict) -> dict:
    """One exported row as a person reads it: labels instead of codes where the row has both,
    moments in words, Yes/No, lists joined in words; raw codes are for the JSON export."""
    out = {}
    for key, value in row.items():
        if key in ("answers", "content", "detail") and f"{key}_in_words" in row:
            continue
        if f"{key}_label" in row or f"{key}_name" in row:  # "category" beside "category_label"
            continue
        if key == "action" and isinstance(value, str):
            value = value.replace("_", " ")
        if key.endswith("_in_words"):
            out[key.removesuffix("_in_words").replace("_", " ").capitalize()] = "; ".join(
                f"{a['question']}: {a['answer']}" for a in value) or None
            continue
        if (key == "at" or key.endswith("_at")) and isinstance(value, str):
            value = _iso_when(value)
        elif isinstance(value, dict):
            value = "; ".join(f"{k.replace('_', ' ')}: {wording.value(v)}" for k, v in value.items()
                              if v not in (None, "", []))
        elif isinstance(value, (bool, list, tuple)):
            value = wording.value(value)
        elif key == "status" and isinstance(value, str):
            value = value.replace("_", " ")
        name = key.removesuffix("_label").removesuffix("_name").replace("_", " ").capitalize()
        out[name] = value
    return out


def dossier(d: dict, *, pack, produced_by: str) -> bytes:
    """The marker dossier (compliance/exports.dossier) as one printable PDF: report, risk assessment,
    decisions and reasons, letters or the reasons for not sending one, reviews, appeals, sharing,
    and every event."""
    alert, story = d["alert"], d["story"]
    category = pack.categories.get(alert.category)
    doc = Document(f"Marker dossier A{alert.id:06d}", pack.name)
    doc.heading(f"{pack.name}: marker dossier A{alert.id:06d}", "title")
    doc.pairs({"Customer": f"{alert.subject.name} ({alert.subject.reference}), {alert.subject.address}",
               "Category": category.label if category else alert.category,
               "Restricted": pack.restrictions[alert.restriction].label if alert.restriction in pack.restrictions else None,
               "Status": alert.status.replace("_", " "), "Marker": alert.marker_text,
               "Control measures": wording.and_list(alert.control_measures or []), "Level": alert.level,
               "Code": alert.marker_code,
               "Placed": f"{_when(alert.placed_at)} by {alert.placed_by}" if alert.placed_at else None,
               "Next review": _when(alert.next_review_at) if alert.next_review_at else None,
               "Removed": f"{_when(alert.removed_at)}: {alert.removed_reason}" if alert.removed_at else None,
               "Produced": f"{_when(clock.now())} by {produced_by}"})
    doc.heading("1. The report")
    if d["report"]:
        doc.pairs({"Reported": f"{_when(d['report'].at)} by {d['report'].actor}",
                   "What happened": d["report"].detail.get("description")})
    doc.heading("2. Risk assessment")
    for ra in story["assessments"]:
        doc.para(f"Filed {_when(ra.assessed_at)} by {ra.assessed_by}", "h3")
        doc.pairs(dict(d["assessment_words"].get(ra.id, [])), "small")
    if not story["assessments"]:
        doc.para("No risk assessment has been filed.")
    doc.heading("3. Decisions and their reasons")
    for e in d["decisions"]:
        stage = d["cases"].get(e.case_id)
        doc.pairs({f"Decision {e.detail.get('decision_no')}": f"{e.detail.get('outcome')} on {_when(e.at)} by "
                   f"{e.detail.get('decided_by')} ({wording.labelled(pack.roles, e.detail.get('decided_role')) or '-'}), "
                   f"{stage.kind if stage else 'case'} {e.case_id}",
                   "Reason": e.detail.get("reason")})
    doc.heading("4. Telling the tenant")
    for lt in story["letters"]:
        delivered = f"; {lt.delivery_method} {_when(lt.delivered_at)}" if lt.delivered_at else ""
        doc.pairs({"Letter": f"{lt.title} — issued {_when(lt.issued_at)} by {lt.issued_by}{delivered}"})
        doc.para(lt.body, "small")
    for nd in story["non_disclosures"]:
        doc.pairs({"Not told": f"decided {_when(nd.decided_at)} by {nd.decided_by}", "Reason": nd.reason,
                   "Consulted": nd.consulted})
    if not story["letters"] and not story["non_disclosures"]:
        doc.para("No letter has been issued and no reason for not telling the tenant is recorded.")
    doc.heading("5. Reviews")
    reviews = [c for c in story["cases"] if c.kind == "review"]
    for c in reviews:
        outcomes = [e.detail.get("outcome") for e in d["decisions"] if e.case_id == c.id]
        doc.pairs({f"Review case {c.id}": f"started {_when(c.created_at)}, {c.status}"
                   + (f"; outcome: {', '.join(outcomes)}" if outcomes else "")})
    if not reviews:
        doc.para("No review yet.")
    doc.heading("6. Appeals")
    for e in d["appeals"]:
        if e.action == "appeal_lodged":
            doc.pairs({"Appeal lodged": f"{_when(e.at)}, recorded by {e.actor}", "Grounds": e.detail.get("grounds")})
        else:
            doc.pairs({"Appeal decided": f"{_when(e.at)} by {e.detail.get('heard_by') or e.actor}: "
                       f"{e.detail.get('outcome')}", "Reasons": e.detail.get("reasons"),
                       "Final": "Yes" if e.detail.get("final") else None})
    if not d["appeals"]:
        doc.para("No appeal.")
    doc.heading("7. Sharing with other agencies and notes")
    for r in story.get("circulation", []):
        doc.pairs({f"{r.recipient_name}: {d['circulation_words'].get(r.notice, r.notice)}":
                   f"{_when(r.told_at)} by {r.told_by} at {r.element}"
                   + (f"; justified: {r.justification}" if r.justification else "")
                   + ("" if r.sent_at else " (not sent yet)"), "Sent": r.wording})
    for e in d["sharing"]:
        doc.pairs({e.action.replace("_", " "): f"{_when(e.at)} by {e.actor} {e.detail.get('template', '')}"})
    for n in story["notes"]:
        doc.pairs({f"Note ({n.notebook})": f"{_when(n.created_at)} by {n.author}: {n.text}"})
    if not d["sharing"] and not story["notes"] and not story.get("circulation"):
        doc.para("Nothing recorded as shared.")
    doc.heading("8. Every event")
    for e in story["events"]:
        doc.para(f"{_when(e.at)}  {e.actor}  {e.action.replace('_', ' ')}", "small")
    return doc.build()


def subject_access(data: dict) -> bytes:
    """A subject access export as PDF, withheld items shown as withheld."""
    subject = data["subject"]
    doc = Document(f"Subject access: {subject['reference']}", data["organisation"])
    doc.heading(f"{data['organisation']}: information we hold about {subject['name']}", "title")
    doc.pairs({"Reference": subject["reference"], "Address": f"{subject['address']} {subject['postcode']}",
               "Tenancy ended": _iso_when(subject["tenancy_ended_at"]),
               "Produced": f"{_iso_when(data['produced_at'])} by {data['produced_by']}"})
    if data.get("restricted_records"):
        doc.para(data["restricted_records"]["message"])
    for a in data["alerts"]:
        doc.heading(f"Record A{a['alert']:06d}")
        if a["marker"].get("withheld"):
            doc.para(f"Marker: {a['marker']['reason']}")
        else:
            doc.pairs(_readable(a["marker"]))
        for name in ("risk_assessments", "notes", "non_disclosures", "tasks", "letters", "circulation", "events"):
            rows = a.get(name) or []
            if not rows:
                continue
            doc.heading(name.replace("_", " ").capitalize(), "h3")
            for row in rows:
                if row.get("withheld"):
                    doc.para(f"Item {row['id']}: {row['reason']}", "small")
                else:
                    doc.pairs(_readable(row), "small")
                    doc.space(1)
    if data["notes"] or data["events"]:
        doc.heading("Other records about you")
        for row in data["notes"] + data["events"]:
            doc.pairs(_readable(row), "small")
    return doc.build()
