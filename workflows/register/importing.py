"""Importing the existing register: markers a landlord already holds (in a housing system or a
spreadsheet), one CSV row a marker.

Three steps, each a function the faces (command line, upload page) call:

- `read_csv(content, filename, mapping)`: the file as rows, or ImportRefused naming what is wrong
  with the file as a whole (not UTF-8 text, NUL bytes, no header, a required column missing, a
  cell too long to be a CSV's, ...). A byte-order mark is accepted, quoted newlines too; the
  delimiter is detected from the header (comma, semicolon, tab or bar).
- `check(db, pack, parsed)`: every row checked; a Report with each row's problems (row number as
  a spreadsheet shows it, the header being row 1; the column; the reason in words) and totals.
- `import_rows(db, pack, actor, report, ...)`: the rows without problems put on the register, in
  the caller's one transaction. Each becomes an active marker (check-before-visiting shows its
  instruction at once) whose next review waits in the pack's review process on the imported
  date, with a `marker_imported` audit event naming the file and row.

A row's key is its customer reference + category + date placed: a marker with that key already on
the register (imported before, or placed since) is a duplicate, so re-running a file imports
nothing twice. A cell starting with =, +, - or @ looks like a spreadsheet formula: the row is
refused (a formula is never evaluated, nor stored to be opened by a spreadsheet later).
"""
import csv
import io
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.definitions import deployment
from workflows.definitions.pack import Pack
from workflows.platform import clock, text, wording
from workflows.platform.errors import FormInvalid, NotAllowed, WorkflowError
from workflows.platform.models import Alert, AlertStatus, Customer, NonDisclosure, Note, Tenancy
from workflows.register import tenancy as tenancies

# our column -> (what people call it, required)
COLUMNS = {
    "customer_reference": ("the customer's reference", True),
    "customer_name": ("the customer's name", True),
    "address": ("the address", False),
    "postcode": ("the postcode", False),
    "category": ("the category", True),
    "instruction": ("the instruction to staff", True),
    "level": ("the level", False),
    "code": ("the marker code", False),
    "date_placed": ("the date placed", True),
    "decided_by": ("who decided", False),
    "tenant_told": ("whether the tenant was told", False),
    "not_told_reason": ("the reason the tenant was not told", False),
    "next_review_date": ("the next review date", True),
    "notes": ("the notes", False),
}
REQUIRED = tuple(name for name, (_, required) in COLUMNS.items() if required)
LENGTHS = {"customer_reference": text.CUSTOMER_REFERENCE, "customer_name": text.CUSTOMER_NAME,
           "address": text.ADDRESS, "postcode": text.POSTCODE, "category": 200, "level": 40, "code": 40,
           "decided_by": text.USERNAME, "tenant_told": 20, "date_placed": 40, "next_review_date": 40}
MAX_BYTES = 100 * 1024 * 1024  # 50,000 rows of a full export are some 15 MB
MAX_CELL = 20_000  # longer than any cell of a register: the file is not a CSV of markers
DELIMITERS = (",", ";", "\t", "|")
FORMULA_STARTS = ("=", "+", "-", "@")
NOTEBOOK = "Imported from the previous register"
BATCH = 500  # rows inserted together
YES, NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")


class ImportRefused(WorkflowError):
    """The file as a whole cannot be imported; the message says why, in the user's words."""


@dataclass
class Mapping:
    """A mapping file (TOML) for another system's export: [columns] their column = our column,
    and [categories] their category (or code) = the pack's category key."""
    columns: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)


@dataclass
class Parsed:
    filename: str
    delimiter: str
    header: list[str]  # as the file names them
    rows: list[tuple[int, dict]]  # (row number as a spreadsheet shows it, our column -> cell)
    categories: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # our column -> the file's name for it


@dataclass
class Problem:
    row: int
    column: str  # the file's own name for the column
    reason: str


@dataclass
class Row:
    number: int
    values: dict  # cleaned: our column -> value
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Report:
    filename: str
    rows: list[Row]

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.rows for p in r.problems]

    @property
    def good(self) -> list[Row]:
        return [r for r in self.rows if not r.problems]

    @property
    def bad(self) -> list[Row]:
        return [r for r in self.rows if r.problems]

    def totals(self) -> dict:
        return {"rows": len(self.rows), "good": len(self.good), "with_problems": len(self.bad),
                "problems": len(self.problems)}


def load_mapping(content: bytes | str, filename: str = "the mapping file") -> Mapping:
    try:
        raw = tomllib.loads(content.decode("utf-8") if isinstance(content, bytes) else content)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ImportRefused(f"{filename} is not a TOML file ({err}); write it as\n"
                            f"[columns]\n\"Their column\" = \"customer_reference\"") from None
    unknown = set(raw) - {"columns", "categories"}
    if unknown:
        raise ImportRefused(f"{filename} has unknown sections {sorted(unknown)}: only [columns] and [categories]")
    columns = {str(k).strip(): str(v).strip() for k, v in raw.get("columns", {}).items()}
    wrong = sorted(v for v in columns.values() if v not in COLUMNS)
    if wrong:
        raise ImportRefused(f"{filename} maps to columns we do not have: {', '.join(wrong)} "
                            f"(ours are {', '.join(COLUMNS)})")
    return Mapping(columns, {str(k).strip().casefold(): str(v).strip() for k, v in raw.get("categories", {}).items()})


def read_csv(content: bytes, filename: str, mapping: Mapping | None = None, *, columns: dict = COLUMNS,
             required: tuple = REQUIRED) -> Parsed:
    """The file's rows under our column names, or ImportRefused saying what is wrong with the file.
    `columns` and `required`: another reader's columns (reconciliation reads two of them)."""
    mapping = mapping or Mapping()
    if not content.strip():
        raise ImportRefused(f"{filename} is empty")
    if len(content) > MAX_BYTES:
        raise ImportRefused(f"{filename} is {len(content) / 1024 / 1024:,.0f} MB; at most "
                            f"{MAX_BYTES // 1024 // 1024} MB can be imported at once: split it")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportRefused(f"{filename} is UTF-16 text; save it as \"CSV UTF-8\" and import it again")
    if b"\x00" in content:
        raise ImportRefused(f"{filename} contains NUL bytes, so it is not a CSV text file (a spreadsheet "
                            f"saved as .xlsx, or a damaged file?); save it as \"CSV UTF-8\"")
    try:
        decoded = content.decode("utf-8-sig")  # a byte-order mark, as Excel writes it, is accepted
    except UnicodeDecodeError as err:
        line = content[:err.start].count(b"\n") + 1
        raise ImportRefused(f"{filename} is not UTF-8 text (line {line} has the byte 0x{content[err.start]:02X}, "
                            f"which UTF-8 does not allow: it may be saved as Windows-1252 or Latin-1); "
                            f"save it as \"CSV UTF-8\" and import it again") from None
    first_line = decoded.split("\n", 1)[0]
    known = {name.casefold() for name in (*columns, *mapping.columns)}
    delimiter = max(DELIMITERS, key=lambda d: (sum(c.strip().casefold() in known for c in first_line.split(d)),
                                               d == ","))
    reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=delimiter, strict=True)
    old_limit = csv.field_size_limit(MAX_CELL)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportRefused(f"{filename} has no header row")
        ours = _our_columns(header, mapping, filename, columns, required)
        rows = []
        for index, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, as spreadsheets leave at the end
            if len(cells) > len(header):
                extra = [c for c in cells[len(header):] if c.strip()]
                if extra:
                    raise ImportRefused(f"{filename}, row {index}: {len(cells)} cells, but the header names "
                                        f"{len(header)} columns; is a cell with a '{delimiter}' in it not quoted?")
            rows.append((index, {our: (cells[i] if i < len(cells) else "") for i, our in ours.items()}))
    except csv.Error as err:
        raise ImportRefused(f"{filename}, near line {reader.line_num}: not a readable CSV ({err}); a cell longer "
                            f"than {MAX_CELL:,} characters or a stray quote mark?") from None
    finally:
        csv.field_size_limit(old_limit)
    if not rows:
        raise ImportRefused(f"{filename} has a header but no rows")
    names = {our: header[position].strip() for position, our in ours.items()}
    return Parsed(filename, delimiter, header, rows, mapping.categories, names)


def _our_columns(header: list[str], mapping: Mapping, filename: str, columns: dict = COLUMNS,
                 required: tuple = REQUIRED) -> dict[int, str]:
    """Position in the file -> our column name, through the mapping; a missing required column refuses."""
    theirs = {k.casefold(): v for k, v in mapping.columns.items()}
    ours: dict[int, str] = {}
    for position, name in enumerate(header):
        key = name.strip().casefold()
        our = theirs.get(key) or (key if key in columns else None)
        if our is None or our not in columns:
            continue  # a column we do not read (their own ids, say)
        if our in ours.values():
            raise ImportRefused(f"{filename}: two columns give {columns[our][0]} ({our}); keep one")
        ours[position] = our
    missing = [c for c in required if c not in ours.values()]
    if missing:
        shown = ", ".join(h.strip() for h in header[:8]) + (", ..." if len(header) > 8 else "")
        raise ImportRefused(
            f"{filename} lacks the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(f'{m} ({columns[m][0]})' for m in missing)}; its header is: {shown}. "
            f"Name the columns as docs/integration.md says, or give a mapping file (--mapping)")
    return ours


def check(db: Session, pack: Pack, parsed: Parsed, progress=None) -> Report:
    """Every row checked against the pack and the register; nothing is changed."""
    names = parsed.names
    held = _held_keys(db)
    seen: dict[tuple, int] = {}
    today = clock.local_day(clock.now())
    rows = []
    for done, (number, cells) in enumerate(parsed.rows, start=1):
        row = Row(number, {})
        problem = lambda column, reason: row.problems.append(Problem(number, names.get(column, column), reason))  # noqa: E731
        for column, value in cells.items():
            value = value.replace("\r\n", "\n")
            if value.lstrip(" ").startswith(FORMULA_STARTS):
                problem(column, f"'{_short(value)}' starts with '{value.lstrip()[0]}', so a spreadsheet would run it "
                                f"as a formula; remove the '{value.lstrip()[0]}' (it is never evaluated here)")
                continue
            try:
                row.values[column] = text.clean_text(value, field=column, max_length=LENGTHS.get(column, text.LONG_TEXT),
                                                     label=COLUMNS[column][0])
            except FormInvalid as err:
                problem(column, err.errors[column])
        v = row.values
        for column in REQUIRED:
            if column in v and not v[column]:
                problem(column, f"{COLUMNS[column][0]} is empty")
        if v.get("category"):
            key = _category(pack, parsed.categories, v["category"])
            if key is None:
                problem("category", f"'{v['category']}' is not a category of the {pack.name} pack (its categories: "
                                    f"{', '.join(f'{c.key} ({c.label})' for c in pack.categories.values())})")
            v["category"] = key
        placed = _date(v, "date_placed", problem)
        review = _date(v, "next_review_date", problem)
        if placed and placed > today:
            problem("date_placed", f"{wording.day(placed)} is in the future")
        if review and review <= today:
            problem("next_review_date", f"{wording.day(review)} is not after today ({wording.day(today)}): a review that is "
                                        f"already due cannot be imported as waiting; review it first, or give the "
                                        f"date it is now due")
        if v.get("address") and not v.get("postcode"):
            problem("postcode" if "postcode" in cells else "address", "the address has no postcode")
        if v.get("postcode") and not v.get("address"):
            problem("address", "the postcode has no address")
        told = v.get("tenant_told", "").casefold()
        if told and told not in YES + NO:
            problem("tenant_told", f"'{v['tenant_told']}' is neither yes nor no")
        v["told"] = True if told in YES else False if told in NO else None
        if v["told"] is False and not v.get("not_told_reason"):
            problem("not_told_reason" if "not_told_reason" in cells else "tenant_told",
                    "the tenant was not told, but no reason is given")
        if v.get("category") and placed and v.get("customer_reference"):
            key = (v["customer_reference"], v["category"], placed)
            v["key"] = key
            if key in held:
                problem("date_placed", f"{v['customer_reference']} already has a "
                                       f"{pack.categories[v['category']].label} marker placed on {wording.day(placed)} on the "
                                       f"register (imported before?)")
            elif key in seen:
                problem("date_placed", f"the same marker as row {seen[key]} (customer, category and date placed)")
            else:
                seen[key] = number
        rows.append(row)
        if progress:
            progress(done, len(parsed.rows))
    return Report(parsed.filename, rows)


def import_rows(db: Session, *, pack: Pack, actor, report: Report, good_rows_only: bool = False,
                progress=None) -> int:
    """Put the checked rows on the register, in the caller's one transaction; the number imported.
    Refused (nothing imported) while any row has a problem, unless good_rows_only."""
    from workflows import permissions
    from workflows.cases import engine

    if not permissions.may_import_register(pack, actor):
        raise NotAllowed("only " + ", ".join(sorted(pack.roles[r].name for r in (pack.import_by or {pack.administrator_role})))
                         + " may import the register ([pack] import_by)")
    if report.bad and not good_rows_only:
        raise ImportRefused(f"{len(report.bad):,} of {len(report.rows):,} rows have problems, so nothing was imported: "
                            f"correct them and run the dry run again, or import the good rows only (--good-rows-only)")
    review_process = review_process_for(db, pack)
    definition = deployment.latest(db, pack=pack.key, process_id=review_process)
    if definition is None:
        raise ImportRefused(f"the review process '{review_process}' is not deployed (run: alertflow pack deploy)")
    customers = {c.reference: c for c in db.scalars(select(Customer))}
    homes = {}  # (address, postcode) -> the property found or made for it
    good = report.good
    for first in range(0, len(good), BATCH):
        batch = good[first:first + BATCH]
        alerts = [_alert(db, customers, homes, row, actor, report.filename) for row in batch]
        db.flush()  # the batch's customers and alerts, inserted together
        reviews = []
        for row, alert in zip(batch, alerts):
            try:
                review = engine.start_case(db, pack=pack, process_id=review_process, alert=alert, kind="review",
                                           actor=actor.username, data={"review_no": 1},
                                           timers_due_at=_moment(row.values["next_review_date"]), flush=False,
                                           definition=definition)
            except WorkflowError as err:
                raise ImportRefused(f"{report.filename}, row {row.number}: its review could not be started ({err}); "
                                    f"nothing was imported") from None
            alert.next_review_at = review.next_timer_at
            reviews.append(review)
        db.flush()  # their review cases
        for row, alert, review in zip(batch, alerts, reviews):
            _file_the_rest(db, row, alert, review, actor, report.filename)
        db.flush()
        audit.settle_case_ids(db)
        for review in reviews:  # their state is written: let it go, so 50,000 cases fit in memory
            db.expunge(review)
        if progress:
            progress(first + len(batch), len(good))
    audit.record(db, actor=actor.username, action="register_imported", file=report.filename,
                 imported=len(good), skipped=len(report.bad), rows=len(report.rows))
    return len(good)


def _alert(db: Session, customers: dict, homes: dict, row: Row, actor, filename: str) -> Alert:
    v = row.values
    customer = customers.get(v["customer_reference"])
    if customer is None:
        customer = Customer(reference=v["customer_reference"], name=v["customer_name"])
        db.add(customer)
        customers[customer.reference] = customer
        if v.get("address"):  # living there since before the register's records began
            key = (v["address"].strip(), v["postcode"].strip().upper())
            if key not in homes:
                homes[key] = tenancies.home(db, address=key[0], postcode=key[1])
            customer.tenancies.append(Tenancy(property=homes[key]))
        audit.record(db, actor=actor.username, action="customer_added", reference=customer.reference,
                     source=filename, row=row.number)
    placed = _moment(v["date_placed"])
    decided_by = v.get("decided_by") or actor.username
    alert = Alert(customer=customer, category=v["category"], status=AlertStatus.ACTIVE,
                  marker_text=v["instruction"], level=v.get("level") or None, marker_code=v.get("code") or None,
                  reported_by=actor.username, reported_at=placed, decided_by=decided_by, decided_at=placed,
                  decision_no=1, placed_by=decided_by, placed_at=placed)
    db.add(alert)
    return alert


def _file_the_rest(db: Session, row: Row, alert: Alert, review, actor, filename: str) -> None:
    """The reason for not telling, the notes and the audit event of one imported marker."""
    v = row.values
    if v["told"] is False:
        db.add(NonDisclosure(alert_id=alert.id, case_id=review.id, reason=v["not_told_reason"],
                             decided_by=alert.decided_by, decided_at=alert.placed_at))
    if v.get("notes"):
        db.add(Note(customer_id=alert.customer.id, alert_id=alert.id, notebook=NOTEBOOK, text=v["notes"],
                    author=actor.username, created_at=clock.now()))
    audit.record(db, actor=actor.username, action="marker_imported", alert_id=alert.id, case_id=review.id,
                 file=filename, row=row.number, key=_key_text(v["key"]), marker_text=alert.marker_text,
                 level=alert.level, code=alert.marker_code, placed=v["date_placed"].isoformat(),
                 decided_by=alert.decided_by, tenant_told={True: "yes", False: "no", None: "not recorded"}[v["told"]],
                 next_review=v["next_review_date"].isoformat())


def review_process_for(db: Session, pack: Pack) -> str:
    """The review process a placed marker's assessment schedules (its schedule_review step), read from
    the deployed diagram, so an imported marker is reviewed as one placed here would be."""
    definition = deployment.latest(db, pack=pack.key, process_id=pack.assessment_process)
    if definition is None:
        raise ImportRefused(f"process '{pack.assessment_process}' is not deployed (run: alertflow pack deploy)")
    spec, subprocess_specs = deployment.spec_for(definition)
    found = set()
    for s in (spec, *subprocess_specs.values()):
        for task_spec in s.task_specs.values():
            if getattr(task_spec, "action", None) == "schedule_review" and (task_spec.extensions or {}).get("process"):
                found.add(task_spec.extensions["process"])
    if len(found) != 1:
        raise ImportRefused(f"the assessment process '{pack.assessment_process}' schedules "
                            f"{'no review' if not found else 'several review processes: ' + ', '.join(sorted(found))}, "
                            f"so it is not clear which review an imported marker waits in")
    return found.pop()


def _category(pack: Pack, mapping: dict, value: str) -> str | None:
    wanted = mapping.get(value.casefold(), value).casefold()
    for category in pack.categories.values():
        if wanted in (category.key.casefold(), category.label.casefold()):
            return category.key
    return None


def _date(values: dict, column: str, problem) -> date | None:
    """ISO (2026-03-31) or as a UK spreadsheet writes it (31/03/2026); None (with a problem) otherwise."""
    value = values.get(column)
    if not value:
        return None
    for parse in (date.fromisoformat, lambda s: datetime.strptime(s, "%d/%m/%Y").date()):
        try:
            parsed = parse(value.strip())
            values[column] = parsed
            return parsed
        except ValueError:
            continue
    problem(column, f"'{_short(value)}' is not a date: write it as 2026-03-31 or 31/03/2026")
    values[column] = None
    return None


def _held_keys(db: Session) -> set[tuple]:
    """(customer reference, category, date placed) of every marker ever placed on the register."""
    query = (select(Customer.reference, Alert.category, Alert.placed_at).join(Alert, Alert.customer_id == Customer.id)
             .where(Alert.placed_at.is_not(None)))
    return {(ref, category, clock.local_day(placed)) for ref, category, placed in db.execute(query)}


def _moment(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=timezone.utc)


def _short(value: str) -> str:
    value = value.replace("\n", " ")
    return value if len(value) <= 40 else value[:37] + "..."


def _key_text(key: tuple) -> str:
    ref, category, placed = key
    return f"{ref}/{category}/{placed.isoformat()}"
