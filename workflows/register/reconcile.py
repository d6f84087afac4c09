"""Reconciliation: a housing system's export of its markers compared with the register.

The export is a CSV with a row per marker: the customer's reference and the instruction to staff
as the housing system holds it (read by `importing.read_csv`, so the same encodings, delimiters
and mapping files are accepted and the same bad files refused). It is compared with what the
register's active markers tell staff (`markers.instruction_to_staff`: a restricted record's staff
instruction, never its reasons). Per customer, instructions that match (ignoring case and runs
of spaces) are in step; the rest are paired as different wording, and what is left over is
missing from one side.
"""
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.definitions.pack import Pack
from workflows.platform.models import Alert, AlertStatus
from workflows.register import importing
from workflows.register.markers import instruction_to_staff

COLUMNS = {"customer_reference": importing.COLUMNS["customer_reference"],
           "instruction": importing.COLUMNS["instruction"]}


@dataclass
class Difference:
    customer: str
    kind: str  # "missing on the housing system", "missing on the register", "different wording"
    register: str | None = None  # the register's instruction
    housing_system: str | None = None  # the export's
    row: int | None = None  # the export's row, as a spreadsheet numbers it


@dataclass
class Reconciliation:
    filename: str
    rows: int
    markers: int  # active markers on the register
    in_step: int
    differences: list[Difference] = field(default_factory=list)
    problems: list[importing.Problem] = field(default_factory=list)  # rows that could not be read


def _same(text: str) -> str:
    return " ".join(text.split()).casefold()


def reconcile(db: Session, *, pack: Pack, actor: str, content: bytes, filename: str,
              mapping: importing.Mapping | None = None) -> Reconciliation:
    """Compare the export with the register's active markers; ImportRefused for a bad file."""
    parsed = importing.read_csv(content, filename, mapping, columns=COLUMNS, required=tuple(COLUMNS))
    names = parsed.names
    theirs: dict[str, list[tuple[int, str]]] = {}
    problems = []
    for number, cells in parsed.rows:
        reference, instruction = cells["customer_reference"].strip(), cells["instruction"].strip()
        for column, value in (("customer_reference", reference), ("instruction", instruction)):
            if not value:
                problems.append(importing.Problem(number, names[column], f"{COLUMNS[column][0]} is empty"))
        if reference and instruction:
            theirs.setdefault(reference, []).append((number, instruction))
    ours: dict[str, list[str]] = {}
    markers = 0
    for alert in db.scalars(select(Alert).where(Alert.status == AlertStatus.ACTIVE).order_by(Alert.id)):
        ours.setdefault(alert.subject.reference, []).append(instruction_to_staff(pack, alert)["instruction"] or "")
        markers += 1
    result = Reconciliation(filename, len(parsed.rows), markers, 0, problems=problems)
    for customer in sorted(set(ours) | set(theirs)):
        left, right = list(ours.get(customer, [])), list(theirs.get(customer, []))
        for text in list(left):  # the same instruction on both sides: in step
            match = next((r for r in right if _same(r[1]) == _same(text)), None)
            if match:
                left.remove(text)
                right.remove(match)
                result.in_step += 1
        while left and right:
            number, text = right.pop(0)
            result.differences.append(Difference(customer, "different wording", left.pop(0), text, number))
        result.differences += [Difference(customer, "missing on the housing system", text) for text in left]
        result.differences += [Difference(customer, "missing on the register", None, text, number)
                               for number, text in right]
    audit.record(db, actor=actor, action="register_reconciled", file=filename, rows=result.rows,
                 markers=markers, in_step=result.in_step, differences=len(result.differences))
    return result
