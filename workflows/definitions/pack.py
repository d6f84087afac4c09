"""A policy pack: bpmn/<key>/pack.toml plus its diagrams and letter templates.

The pack holds what an organisation's policy says that is not a flow: its roles and their
seniority, its categories, who may see restricted records, and the letters it sends.
"""
import re
import string
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from workflows.platform import business_days, clock, config
from workflows.platform.business_days import BusinessCalendar
from workflows.platform.errors import WorkflowError


class PackError(WorkflowError):
    """A pack.toml that is missing something or contradicts itself; the message names it."""


@dataclass(frozen=True)
class Role:
    key: str
    name: str
    rank: int  # seniority; 0 means the role is not on the management ladder
    escalates_to: str | None = None  # who hears a must-outrank step this role cannot
    deputises_for: tuple[str, ...] = ()  # roles whose steps this role may also take (in their absence)
    lands_on: str | None = None  # the page its holders start on when no step waits for them (LANDING_PAGES)


# the pages a role may start on after sign-in ([roles.X] lands_on), by what people call them
LANDING_PAGES = ("inbox", "check", "report", "register", "compliance", "processes", "users")


MARKER_FIELD_TYPES = ("string", "long", "boolean", "date", "enum")
MARKER_FIELD_VISIBILITY = ("staff", "readers")


@dataclass(frozen=True)
class MarkerField:
    """A field of the pack's own carried on the marker across its cases ([marker_fields]): set by a
    step (set_marker_fields, or a marker action finding an answer of its name), every later case of
    the marker starts with it. `visible_to`: "staff" (beside the instruction to staff) or "readers"
    (only those who may read the alert's story, permissions.may_read_story)."""
    name: str
    label: str
    type: str | None = None  # None: what the form answering it says (the short form `name = "Label"`)
    visible_to: str = "staff"


@dataclass(frozen=True)
class Category:
    key: str
    label: str
    description: str = ""
    # who is told of a marker of this category without a justification ([categories.<key>] audience);
    # None: the pack's [circulation] default_audience
    audience: tuple[str, ...] | None = None
    # what a marker of this category is on: "person" (a customer; it follows them when they move)
    # or "property" (a hazard at an address, shown for whoever lives there)
    on: str = "person"
    # the process that assesses a concern of this category (None: the pack's assessment_process),
    # and the review process it schedules, where it is its own (for the lint: see property_processes)
    assessment_process: str | None = None
    review_process: str | None = None


RECIPIENT_KINDS = ("role", "team", "agency", "out_of_hours", "contractor")


@dataclass(frozen=True)
class Recipient:
    """[recipients.<key>]: someone a `notify` step may tell of a marker (its instruction, never its
    reasons): a role of the pack (its shared mailbox), a team, a partner agency, the out-of-hours
    or contractor service, each with the address the notice goes to."""
    key: str
    name: str
    kind: str
    email: str
    role: str | None = None  # kind "role": the pack's role this mailbox stands for


@dataclass(frozen=True)
class Restriction:
    key: str
    label: str
    visible_to: frozenset[str]
    staff_instruction: str
    # who keeps the housing system in step for these records, when [housing_system] role may not see them
    housing_system_role: str | None = None
    # the control measures such a marker carries, whatever a form said (staff see only these)
    control_measures: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    """Something a customer asks about an alert that starts its own case (a subject access request, say)."""
    key: str
    label: str
    process: str


@dataclass(frozen=True)
class HousingSystem:
    """[housing_system]: the landlord's own housing system, kept in step with the register.

    Every change to a marker (placed, changed, removed; an interim marker on or off) gives this
    role a step saying what to enter, due within due_within. name: what the landlord calls it
    ("the red triangle", "QL"). No section: the pack keeps no other system in step.
    """
    role: str
    due_within: str
    name: str = "the housing system"


@dataclass(frozen=True)
class Feed:
    """[feed]: the register's changes sent to the landlord's housing system as JSON events
    (workflows/register/feed.py), each acknowledged delivery completing that change's
    [housing_system] step. The endpoint's address and secret are environment variables
    (ALERTFLOW_FEED_URL, ALERTFLOW_FEED_SECRET), never the pack.

    name: what the landlord calls the receiving system; categories and levels: the pack's
    category keys and marker levels -> the receiving system's alert type and level codes;
    failing_after: undelivered after this many attempts, an event shows on the dashboard.
    """
    name: str = "the housing system"
    categories: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)
    failing_after: int = 5


@dataclass(frozen=True)
class LetterTemplate:
    key: str
    title: str
    body: string.Template
    # False: written to someone other than the tenant (a notice to out-of-hours call handlers, say):
    # it never tells the tenant, and a subject access export withholds it with "notices"
    to_tenant: bool = True
    file: str = ""  # as pack.toml names it (letters/told.txt), for findings that give a line of it

    def line_of(self, field_name: str) -> int | None:
        """The first line of the template reading $field_name (or ${field_name})."""
        wanted = re.compile(rf"\$(?:{re.escape(field_name)}(?![A-Za-z0-9_])|\{{{re.escape(field_name)}\}})")
        for number, line in enumerate(self.body.template.splitlines(), 1):
            if wanted.search(line.replace("$$", "")):
                return number
        return None


@dataclass(frozen=True)
class Letterhead:
    """[letterhead]: who the letters come from and how to reach them, printed at the top of every
    letter (the name and return address) and under the signature (telephone, e-mail). `appeal_how`
    says how a tenant appeals, printed on each letter that tells of a decision (the time to appeal
    comes from [pack] appeal_within). `language` is the letters' language (a BCP 47 tag), which
    the PDF declares for screen readers."""
    name: str
    address: tuple[str, ...] = ()
    telephone: str = ""
    email: str = ""
    website: str = ""
    appeal_how: str = ""
    language: str = "en-GB"


LETTERHEAD_SETTINGS = ("name", "address", "telephone", "email", "website", "appeal_how", "language")


DRAFTS_KEPT_FOR = "P30D"  # [registers] retain_drafts_for unset: a month, long enough to come back from leave


@dataclass(frozen=True)
class Registers:
    """[registers]: who may read the compliance views, and what they hold back.

    readers: the compliance dashboard, the register of active markers and its exports.
    case_readers: roles that may read the story of every alert they may see (compliance, the
        DPO), besides the roles with a step on it; by default the readers.
    non_disclosure_visible_to: the register of decisions not to tell a tenant.
    subject_access: who may produce a subject access export.
    tell_tenant_within: the time after a decision by which the tenant is told, that is the letter's
        delivery recorded (or the reason for not telling them recorded). Required of a pack that
        has letters; None only for a pack that issues none.
    withheld_when_not_told: what a decision not to tell the tenant keeps out of a subject access
        export (of that alert): any of marker, risk_assessments, notes, non_disclosures, tasks,
        letters, notices (letters to others than the tenant, `to_tenant = false`), circulation (who was
        told of the marker, with the wording: `notify`), events. By
        default everything but the letters the tenant already holds: the step answers, the
        notices and the audit events repeat the marker and the reason for not telling. It covers
        the alert while its latest decision not to tell stands: a letter to the tenant issued
        after it (a review that tells them) lifts it.
    retain_closed_for: how long a closed record (marker removed, or no marker placed) is kept
        from its closing; the dashboard lists those past it. None: the pack sets no period.
    retain_drafts_for: how long a step's draft (answers typed, not sent) is kept after it was last
        saved; the background sweep deletes older ones (workflows.tasks.drafts.sweep).
    """
    # each defaults to the pack's compliance role ([pack] compliance_role)
    readers: frozenset[str] = frozenset()
    case_readers: frozenset[str] | None = None  # None: the same as readers
    non_disclosure_visible_to: frozenset[str] = frozenset()
    subject_access: frozenset[str] = frozenset()
    tell_tenant_within: str | None = None
    withheld_when_not_told: tuple[str, ...] = ("marker", "risk_assessments", "notes", "non_disclosures", "tasks",
                                               "notices", "circulation", "events")
    retain_closed_for: str | None = None
    retain_drafts_for: str = DRAFTS_KEPT_FOR

    def __post_init__(self):
        if self.case_readers is None:
            object.__setattr__(self, "case_readers", self.readers)


@dataclass(frozen=True)
class Notifications:
    """[notifications]: reminders before a step's due date and escalations after it.

    remind_before: how long before a step's due date its assignee (or, unclaimed, every member
        of its role) is reminded by e-mail; None: no reminders.
    escalate_after: how long after the due date the role's manager is told it is overdue.
    managers: role key -> the role that manages it (who hears of its overdue steps).
    """
    remind_before: str | None = None
    escalate_after: str = "PT0S"
    managers: dict = field(default_factory=dict)


# how a letter may reach a tenant, unless pack.toml's letter_delivery_methods says otherwise
DELIVERY_METHODS = ("first class post", "recorded delivery", "hand delivered", "email",
                    "given in person at the office")
SUBJECT_ACCESS_SECTIONS = ("marker", "risk_assessments", "notes", "non_disclosures", "tasks", "letters", "notices",
                           "circulation", "events")


@dataclass
class Pack:
    key: str
    name: str
    directory: Path
    assessment_process: str
    appeal_process: str | None
    appeal_outcome_final: bool
    # what a later concern about a customer with an active marker does when it is reported as
    # linked to that marker ([pack] incident_process): None, and reports cannot be linked
    incident_process: str | None = None
    # the roles that run and watch the system rather than work cases ([pack] administrator_role,
    # process_owner_role, compliance_role): who manages accounts, who changes the policy, and
    # who the registers and subject access default to
    administrator_role: str = "admin"
    process_owner_role: str = "process_owner"
    compliance_role: str = "compliance_officer"
    # who may import the existing register from a CSV ([pack] import_by); empty: the administrator role
    import_by: frozenset[str] = frozenset()
    # the roles whose local accounts must pass two-step sign-in ([pack] mfa_required_for); by
    # default the administrator, process owner and compliance roles
    mfa_required_for: frozenset[str] = frozenset()
    roles: dict[str, Role] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)
    restrictions: dict[str, Restriction] = field(default_factory=dict)
    letters: dict[str, LetterTemplate] = field(default_factory=dict)
    letterhead: Letterhead | None = None  # [letterhead]: unset, letters are headed by the pack's name alone
    requests: dict[str, Request] = field(default_factory=dict)
    appeal_within: str | None = None  # e.g. "P14D": from receipt of the latest letter (or the decision)
    tenancy_end_removes_markers: bool = False  # the customer's markers come off when their tenancy ends
    # a report about a member of a household puts the marker on the household's lead tenant, and
    # links the member's own record to the alert instead of flagging it
    markers_on_lead_tenant: bool = False
    # a late review's successor is due one period after the late review's due date, not after the
    # day it was done (false: after the day it was done, so lateness moves every later review)
    review_from_due_date: bool = True
    delivery_methods: tuple[str, ...] = DELIVERY_METHODS  # how a letter may reach the tenant
    # case-data names a review case starts with, from the case that scheduled it (the assessment,
    # or the review before): what was asked at the assessment that later reviews must know
    review_carries: tuple[str, ...] = ()
    registers: "Registers" = field(default_factory=lambda: Registers())
    notifications: Notifications = field(default_factory=Notifications)
    housing_system: HousingSystem | None = None
    # [calendar]: the days the organisation works, for durations in working days (P10WD)
    calendar: BusinessCalendar | None = None
    # [pack] late_appeals: the process an appeal lodged after appeal_within starts instead of being
    # refused (its first step: a named role decides, with reasons, whether to hear it)
    late_appeals: str | None = None
    feed: Feed | None = None  # [feed]: register changes sent to the housing system as events
    # [marker_fields]: fields of the pack's own carried on the marker across its cases (name ->
    # MarkerField: its label, type and who may see it), e.g. contact_restrictions = "Contact restrictions"
    marker_fields: dict[str, MarkerField] = field(default_factory=dict)
    # [recipients.<key>]: who a marker's instruction may be sent to (the `notify` action)
    recipients: dict[str, Recipient] = field(default_factory=dict)
    # [circulation] default_audience: who is told of a marker without a recorded justification
    default_audience: tuple[str, ...] = ()
    # [sso] groups: a group of the landlord's identity provider (its id or name, as the groups
    # claim carries it) -> the roles its members hold here; roles follow groups at each sign-in
    sso_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # names every case starts with, so diagrams may read them (the lint knows them too)
    start_variables: tuple[str, ...] = (
        "alert_id", "category", "customer_ref", "customer_name", "description", "reported_by", "staff_involved",
        "restriction", "marker_text", "control_measures", "level", "marker_code",
        "decided_by", "decided_role", "review_no", "about_customer_ref",
        "current_level", "current_marker_code", "tenant_told",
        "on_property",  # a marker on a property (a hazard at an address), not on a person
    )

    def marker_field_names(self) -> set[str]:
        """The case-data names every case of a marker starts with from its [marker_fields] (an enum's
        `<name>_labels` too): a diagram and a letter may read them."""
        return set(self.marker_fields) | {f"{n}_labels" for n, f in self.marker_fields.items() if f.type in (None, "enum")}

    def bpmn_files(self) -> list[Path]:
        return sorted(self.directory.glob("*.bpmn"))

    def notices(self) -> tuple[str, ...]:
        """The letters written to someone other than the tenant (`to_tenant = false`): they never tell the tenant."""
        return tuple(key for key, letter in self.letters.items() if not letter.to_tenant)

    def role_for_lane(self, lane: str | None) -> Role | None:
        """The role a lane names, by key or by display name (case-insensitive)."""
        if not lane:
            return None
        wanted = lane.strip().lower()
        for role in self.roles.values():
            if wanted in (role.key.lower(), role.name.lower()):
                return role
        return None

    def deputised_by(self, role_keys) -> frozenset[str]:
        """The roles someone holding these roles may stand in for, in their holders' absence."""
        return frozenset(d for key in role_keys if key in self.roles for d in self.roles[key].deputises_for)

    def deputies_of(self, role_key: str) -> frozenset[str]:
        """The roles that may stand in for this one while its holders are absent."""
        return frozenset(r.key for r in self.roles.values() if role_key in r.deputises_for)

    def rank_of(self, role_keys) -> int:
        return max((self.roles[r].rank for r in role_keys if r in self.roles), default=0)

    @property
    def assessment_processes(self) -> frozenset[str]:
        """Every process that assesses a new concern: the pack's, and those its categories name."""
        return frozenset({self.assessment_process} | {c.assessment_process for c in self.categories.values()
                                                       if c.assessment_process})

    @property
    def appeal_processes(self) -> frozenset[str]:
        """The processes an appeal starts (engine.start_appeal): the pack's appeal process, and its
        late_appeals process for one lodged after appeal_within."""
        return frozenset(p for p in (self.appeal_process, self.late_appeals) if p)

    @property
    def property_processes(self) -> frozenset[str]:
        """The processes (assessments, and reviews named by a category) that run markers on properties
        only (`on = "property"`): they have no tenant to tell."""
        by_process = {}
        for c in self.categories.values():
            by_process.setdefault(c.assessment_process or self.assessment_process, set()).add(c.on)
            if c.review_process:
                by_process.setdefault(c.review_process, set()).add(c.on)
        return frozenset(p for p, subjects in by_process.items() if subjects == {"property"})

    def assessment_process_for(self, category: str) -> str:
        """The process that assesses a concern of this category."""
        return self.require_category(category).assessment_process or self.assessment_process

    def require_category(self, key: str) -> Category:
        if key not in self.categories:
            known = ", ".join(sorted(self.categories))
            raise PackError(f"unknown category '{key}' (this pack has: {known})")
        return self.categories[key]

    def audience(self, category: str | None) -> tuple[str, ...]:
        """The recipients told of a marker of this category without a justification."""
        found = self.categories.get(category or "")
        return found.audience if found is not None and found.audience is not None else self.default_audience

    def require_role(self, key: str) -> Role:
        if key not in self.roles:
            known = ", ".join(sorted(self.roles))
            raise PackError(f"unknown role '{key}' (this pack has: {known})")
        return self.roles[key]

    def housing_system_role(self, restriction: str | None) -> str | None:
        """Who keeps the housing system in step for a record with this restriction (None: nobody)."""
        if self.housing_system is None:
            return None
        rule = self.restrictions.get(restriction or "")
        return (rule.housing_system_role if rule else None) or self.housing_system.role

    def may_see(self, restriction: str | None, role_keys) -> bool:
        """Whether someone holding these roles may see a record with this restriction."""
        if restriction is None:
            return True
        rule = self.restrictions.get(restriction)
        return rule is not None and bool(rule.visible_to & set(role_keys))


@dataclass(frozen=True)
class PackSource:
    """What a pack's settings are written in: pack.toml's text and each letter template's text, by the
    file name pack.toml gives it. The pack's folder holds one (the first install, `pack check`,
    `pack deploy`); each deployed settings version in the database holds another."""
    pack_toml: str
    letters: dict  # "letters/told.txt" -> the template's text

    @property
    def content_hash(self) -> str:
        import hashlib
        import json
        return hashlib.sha256(json.dumps([self.pack_toml, self.letters], sort_keys=True).encode()).hexdigest()


def read_pack_files(key: str | None = None, packs_dir: Path | None = None) -> tuple[Path, PackSource]:
    """The pack's folder and its settings as written there (pack.toml, and the letters it names)."""
    key = key or _active_key()
    directory = (packs_dir or config.packs_dir()) / key
    path = directory / "pack.toml"
    if not path.exists():
        raise PackError(f"no policy pack '{key}': {path} does not exist (a pack made on the web has no folder: "
                        f"`alertflow pack export DIR --as USER` writes the deployed pack to one)")
    return directory, read_settings_file(path)


def read_settings_file(path: Path, letters_elsewhere: dict | None = None) -> PackSource:
    """A pack.toml and the letters it names, read from the folder it is in; a letter not there is
    taken from `letters_elsewhere` (the deployed ones, for a pack.toml checked on its own)."""
    text = path.read_text(encoding="utf-8")
    raw = _parse(text, str(path))
    letters = {}
    for lkey, letter in (raw.get("letters") or {}).items():
        name = letter.get("file") if isinstance(letter, dict) else None
        if isinstance(name, str) and name not in letters:
            try:
                letters[name] = (path.parent / name).read_text(encoding="utf-8")
            except FileNotFoundError:
                if name in (letters_elsewhere or {}):
                    letters[name] = letters_elsewhere[name]
                # otherwise _build names the missing template, with its line in pack.toml
    return PackSource(text, letters)


def load_pack(key: str | None = None, packs_dir: Path | None = None) -> Pack:
    """Read and check a pack.toml and its letters from the pack's folder."""
    key = key or _active_key()
    directory, source = read_pack_files(key, packs_dir)
    return pack_from_source(key, directory, source, str(directory / "pack.toml"))


def pack_from_source(key: str, directory: Path, source: PackSource, label: str = "pack.toml") -> Pack:
    """Build and check a pack from its settings' text. A refusal names `label` with the line and the
    setting: "pack.toml: line 7: [pack] reveiw_carries is not a setting ..."."""
    raw = _parse(source.pack_toml, label)
    try:
        return _build(key, directory, raw, label, source.letters)
    except PackError as err:
        raise PackError(_with_line(str(err), label, source.pack_toml)) from None


def renamed(source: PackSource, name: str) -> PackSource:
    """The settings with another `[pack] name` (what people read at the top of every page and in
    letters), the rest of pack.toml as written, its comments too."""
    import json
    lines = source.pack_toml.splitlines(keepends=True)
    number = _line_of(source.pack_toml, "pack", "name")
    line = lines[number - 1] if number else ""
    if not re.match(r"\s*name\s*=", line):
        raise PackError("pack.toml: [pack] name is not written as name = \"...\" on a line of its own, so it "
                        "cannot be replaced")
    indent = line[:len(line) - len(line.lstrip())]
    lines[number - 1] = f"{indent}name = {json.dumps(name, ensure_ascii=False)}\n"  # a TOML basic string
    text = "".join(lines)
    if (_parse(text, "pack.toml").get("pack") or {}).get("name") != name:
        raise PackError("pack.toml: [pack] name spans several lines, so it cannot be replaced")
    return PackSource(text, dict(source.letters))


def _parse(text: str, label: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
        if found:
            message = f"{label}: line {found.group(1)}: {message[:found.start()]} (column {found.group(2)})"
        else:
            message = f"{label}: {message}"
        raise PackError(message) from None


def _with_line(message: str, label: str, text: str) -> str:
    """The message with the line of pack.toml it is about, found from the [section] and setting it
    names ("[registers] readers", "role 'x' escalates_to", "[letters.told]")."""
    if not message.startswith(f"{label}: "):
        return message
    rest = message[len(label) + 2:]
    section = key = None
    found = re.match(r"\[([A-Za-z0-9_.\"-]+)\]\s*([A-Za-z_][A-Za-z0-9_]*)?", rest)
    if found:
        section, key = found.group(1).replace('"', ""), found.group(2)
    else:
        found = re.match(r"(role|restriction) '([^']+)' ([A-Za-z_]+)", rest)
        if found:
            section = ("roles." if found.group(1) == "role" else "restrictions.") + found.group(2)
            key = found.group(3)
    line = _line_of(text, section, key) if section else None
    return f"{label}: line {line}: {rest}" if line else message


def _line_of(text: str, section: str, key: str | None = None) -> int | None:
    """The line of `key = ...` in the table [section] (or of the table's header, or of a
    `section.key` / `key` under a parent table); None if it cannot be found."""
    current, header, parent_line = None, None, None
    parent, _, child = section.rpartition(".")
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.split("#", 1)[0].strip()
        table = re.fullmatch(r"\[\s*([^\[\]]+?)\s*\]", stripped)
        if table:
            current = re.sub(r'[\s"]', "", table.group(1))
            if current == section or (header is None and current.startswith(section + ".")):
                header = number
            continue
        if key and current == section and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
        if parent and current == parent and re.match(rf"{re.escape(child)}\s*=", stripped):
            parent_line = number  # an inline table: [notifications] managers = { ... }
    return header or parent_line


@lru_cache(maxsize=8)
def cached_pack(key: str, packs_dir: str) -> Pack:
    return load_pack(key, Path(packs_dir))


def _active_key() -> str:
    """The active pack's key: pack_versions.active_key (the database's choice, else ALERTFLOW_PACK)."""
    from workflows.definitions import pack_versions  # the database's side of the pack
    return pack_versions.active_key()


def files_pack(key: str | None = None) -> Pack:
    """A pack (the active one by default) as its folder holds it (for `pack check`, and before
    anything is deployed)."""
    return cached_pack(key or _active_key(), str(config.packs_dir()))


def active_pack() -> Pack:
    """The active pack as deployed: its newest settings version in the database (read once per
    version, so a deploy on the web, or another pack made active, reaches every process without a
    restart); the pack's folder only while no version is deployed (a new database, `pack check`
    with no database)."""
    from workflows.definitions import pack_versions  # the database's side of the pack's settings
    key, deployed = pack_versions.active(config.packs_dir())
    return deployed or files_pack(key)


def _flag(meta: dict, name: str, default: bool, path) -> bool:
    value = meta.get(name, default)
    if not isinstance(value, bool):
        raise PackError(f"{path}: [pack] {name} must be true or false, not {value!r}")
    return value


# the settings of [pack] (an unknown one is refused: a misspelt setting would silently take its default)
PACK_SETTINGS = ("name", "assessment_process", "appeal_process", "appeal_outcome_final", "incident_process",
                 "administrator_role", "process_owner_role", "compliance_role", "import_by", "mfa_required_for",
                 "appeal_within", "late_appeals", "tenancy_end_removes_markers", "markers_on_lead_tenant",
                 "review_from_due_date", "letter_delivery_methods", "review_carries")
SECTIONS = ("pack", "roles", "categories", "restrictions", "requests", "registers", "notifications",
            "housing_system", "feed", "marker_fields", "sso", "calendar", "letters", "letterhead", "recipients",
            "circulation")
ROLE_SETTINGS = ("name", "rank", "escalates_to", "deputises_for", "lands_on")


def _unknown(found, known, where: str, path) -> None:
    """Refuse a setting the pack does not have, naming the nearest one it does."""
    import difflib
    for name in found:
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            if not where:  # a section: [notification] for [notifications]
                hint = f"did you mean [{near[0]}]? " if near else ""
                raise PackError(f"{path}: [{name}] is not a section of pack.toml: {hint}(known: {', '.join(known)})")
            hint = f"did you mean {near[0]}? " if near else ""
            raise PackError(f"{path}: {where} {name} is not a setting: {hint}(known: {', '.join(known)})")


def _build(key, directory, raw, path, letters_text: dict | None = None) -> Pack:
    meta = _section(raw, "pack", path)
    _unknown(raw, SECTIONS, "", path)
    if isinstance(meta, dict):
        _unknown(meta, PACK_SETTINGS, "[pack]", path)
    for rkey, r in (raw.get("roles") or {}).items():
        if isinstance(r, dict):
            _unknown(r, ROLE_SETTINGS, f"[roles.{rkey}]", path)
    try:
        pack = Pack(
            key=key, name=meta["name"], directory=directory,
            assessment_process=meta["assessment_process"],
            appeal_process=meta.get("appeal_process"),
            incident_process=_process_name(meta, "incident_process", path),
            appeal_outcome_final=bool(meta.get("appeal_outcome_final", False)),
            administrator_role=meta.get("administrator_role", Pack.administrator_role),
            process_owner_role=meta.get("process_owner_role", Pack.process_owner_role),
            compliance_role=meta.get("compliance_role", Pack.compliance_role),
            import_by=frozenset(meta.get("import_by", ())),
            mfa_required_for=_mfa_required_for(meta, path),
            appeal_within=meta.get("appeal_within"),
            late_appeals=meta.get("late_appeals"),
            calendar=_calendar(raw, path),
            tenancy_end_removes_markers=bool(meta.get("tenancy_end_removes_markers", False)),
            markers_on_lead_tenant=_flag(meta, "markers_on_lead_tenant", False, path),
            review_from_due_date=bool(meta.get("review_from_due_date", True)),
            delivery_methods=_delivery_methods(meta, path),
            review_carries=_review_carries(meta, path),
        )
        for rkey, r in _section(raw, "roles", path).items():
            lands_on = r.get("lands_on")
            if lands_on is not None and lands_on not in LANDING_PAGES:
                raise PackError(f"{path}: [roles.{rkey}] lands_on = '{lands_on}' is not a page; choose "
                                f"{', '.join(LANDING_PAGES[:-1])} or {LANDING_PAGES[-1]}, e.g. lands_on = \"check\"")
            pack.roles[rkey] = Role(rkey, r["name"], int(r.get("rank", 0)), r.get("escalates_to"),
                                    tuple(r.get("deputises_for", ())), lands_on)
        for qkey, q in raw.get("requests", {}).items():
            pack.requests[qkey] = Request(qkey, q["label"], q["process"])
        for ckey, c in _section(raw, "categories", path).items():
            pack.categories[ckey] = _category(ckey, c, path)
        for xkey, x in raw.get("restrictions", {}).items():
            pack.restrictions[xkey] = Restriction(
                xkey, x["label"], frozenset(x["visible_to"]), x["staff_instruction"], x.get("housing_system_role"),
                _restriction_measures(x, xkey, path))
        pack.registers = _registers(raw.get("registers", {}), path, pack.compliance_role)
        if "notifications" in raw:
            pack.notifications = _notifications(raw["notifications"], path)
        if "housing_system" in raw:
            pack.housing_system = _housing_system(raw["housing_system"], path)
        if "feed" in raw:
            pack.feed = _feed(raw["feed"], path)
        pack.recipients = _recipients(raw.get("recipients", {}), path)
        circulation = raw.get("circulation", {})
        if not isinstance(circulation, dict) or set(circulation) - {"default_audience"}:
            raise PackError(f"{path}: [circulation] has unknown settings "
                            f"{sorted(set(circulation) - {'default_audience'}) if isinstance(circulation, dict) else circulation} "
                            f"(known: default_audience, e.g. default_audience = [\"housing_team\", \"repairs\"])")
        pack.default_audience = _audience(circulation, "default_audience", "[circulation] default_audience", path, ())
        pack.marker_fields = _marker_fields(raw.get("marker_fields", {}), path)
        if "sso" in raw:
            pack.sso_groups = _sso_groups(raw["sso"], path)
        pack.letterhead = _letterhead(raw.get("letterhead"), pack.name, path)
        for lkey, letter in raw.get("letters", {}).items():
            if not isinstance(letter["file"], str) or ".." in letter["file"] \
                    or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_./-]*\.txt", letter["file"]):
                raise PackError(f"{path}: [letters.{lkey}] file must name a .txt file in the pack's folder, "
                                f"e.g. file = \"letters/{lkey}.txt\", not {letter['file']!r}")
            if letters_text is None or letter["file"] not in letters_text:
                raise PackError(f"{path}: [letters.{lkey}] file: the letter template {letter['file']} does not exist")
            body = letters_text[letter["file"]]
            template = string.Template(body)
            if not template.is_valid():
                raise PackError(f"{path}: [letters.{lkey}] file: {_template_problem(letter['file'], body)}")
            to_tenant = letter.get("to_tenant", True)
            if not isinstance(to_tenant, bool):
                raise PackError(f"{path}: [letters.{lkey}] to_tenant must be true or false (false: the letter goes "
                                f"to someone other than the tenant, e.g. a notice to call handlers)")
            unknown = set(letter) - {"title", "file", "to_tenant"}
            if unknown:
                raise PackError(f"{path}: [letters.{lkey}] has unknown settings {sorted(unknown)} "
                                f"(known: title, file, to_tenant)")
            pack.letters[lkey] = LetterTemplate(lkey, letter["title"], template, to_tenant, letter["file"])
    except KeyError as err:
        raise PackError(f"{path}: missing setting {err}") from None
    _check_references(pack, path)
    return pack


def _template_problem(name: str, body: str) -> str:
    """Where a letter template's $ is neither $field, ${field} nor $$ (a pound sign is fine)."""
    for number, line in enumerate(body.splitlines(), 1):
        bad = re.search(r"\$(?!\$|[A-Za-z_]|\{[A-Za-z_][A-Za-z0-9_]*\})", line.replace("$$", ""))
        if bad:
            return (f"{name}: line {number}: '{line.strip()}' has a $ that names no field: write $field, "
                    f"${{field}}, or $$ for a dollar sign")
    return f"{name}: a $ names no field: write $field, ${{field}}, or $$ for a dollar sign"


def _letterhead(raw, pack_name: str, path) -> Letterhead | None:
    """[letterhead]: every setting optional but each of its own type; an unknown one is refused."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PackError(f"{path}: [letterhead] must be a table, e.g. [letterhead] address = [\"1 High Street\", ...]")
    unknown = set(raw) - set(LETTERHEAD_SETTINGS)
    if unknown:
        raise PackError(f"{path}: [letterhead] has unknown settings {sorted(unknown)} "
                        f"(known: {', '.join(LETTERHEAD_SETTINGS)})")
    address = raw.get("address", [])
    if not isinstance(address, list) or not all(isinstance(line, str) and line.strip() for line in address):
        raise PackError(f"{path}: [letterhead] address must be a list of lines, "
                        f"e.g. address = [\"839 London Road\", \"Derby\", \"DE24 8UZ\"]")
    for name in ("name", "telephone", "email", "website", "appeal_how", "language"):
        if not isinstance(raw.get(name, ""), str):
            raise PackError(f"{path}: [letterhead] {name} must be text, not {raw[name]!r}")
    language = raw.get("language", "en-GB").strip()
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", language):
        raise PackError(f"{path}: [letterhead] language must be a language tag such as \"en-GB\" or \"cy-GB\", "
                        f"not {language!r}")
    return Letterhead(name=(raw.get("name") or pack_name).strip(), address=tuple(a.strip() for a in address),
                      telephone=raw.get("telephone", "").strip(), email=raw.get("email", "").strip(),
                      website=raw.get("website", "").strip(), appeal_how=raw.get("appeal_how", "").strip(),
                      language=language)


def _marker_fields(raw, path) -> dict[str, MarkerField]:
    """[marker_fields]: `name = "Label"` (shown to staff, typed by the form answering it), or a table
    `[marker_fields.name]` with label, type (string, long, boolean, date, enum) and visible_to
    ("staff": beside the instruction to staff; "readers": only to those who may read the story)."""
    example = ('e.g. contact_restrictions = "Contact restrictions", or [marker_fields.expires_on] '
               'label = "Marker expires on", type = "date", visible_to = "readers"')
    if not isinstance(raw, dict):
        raise PackError(f"{path}: [marker_fields] must map a field name to what staff read it as ({example})")
    fields = {}
    for name, spec in raw.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise PackError(f"{path}: [marker_fields] '{name}' is not a plain name (letters, digits and _), {example}")
        if isinstance(spec, str):
            spec = {"label": spec}
        if not isinstance(spec, dict):
            raise PackError(f"{path}: [marker_fields] {name} must be a label or a table, {example}")
        unknown = set(spec) - {"label", "type", "visible_to"}
        if unknown:
            raise PackError(f"{path}: [marker_fields.{name}] has unknown setting(s) {', '.join(sorted(unknown))} "
                            f"(settings: label, type, visible_to)")
        label = spec.get("label")
        if not isinstance(label, str) or not label.strip():
            raise PackError(f"{path}: [marker_fields.{name}] needs a label: what people read it as, {example}")
        kind = spec.get("type")
        if kind is not None and kind not in MARKER_FIELD_TYPES:
            raise PackError(f"{path}: [marker_fields.{name}] type '{kind}' is not one of {', '.join(MARKER_FIELD_TYPES)}")
        visible_to = spec.get("visible_to", "staff")
        if visible_to not in MARKER_FIELD_VISIBILITY:
            raise PackError(f"{path}: [marker_fields.{name}] visible_to '{visible_to}' must be \"staff\" (shown "
                            f"beside the instruction to staff) or \"readers\" (only to those who may read the story)")
        if name in Pack.start_variables or name.endswith("_labels"):
            raise PackError(f"{path}: [marker_fields] '{name}' is a name every case already has; choose another")
        fields[name] = MarkerField(name, label.strip(), kind, visible_to)
    return fields


EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _recipients(raw, path) -> dict[str, Recipient]:
    """[recipients.<key>] name, kind (role, team, agency, out_of_hours, contractor), email; role for a role."""
    example = '[recipients.repairs] name = "Repairs team", kind = "team", email = "repairs@example.org"'
    if not isinstance(raw, dict):
        raise PackError(f"{path}: [recipients] must hold one table per recipient, e.g. {example}")
    found = {}
    for key, r in raw.items():
        where = f"{path}: [recipients.{key}]"
        if not isinstance(r, dict):
            raise PackError(f"{where} must be a table, e.g. {example}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise PackError(f"{where}: a recipient's key is a plain name (letters, digits and _), e.g. repairs")
        unknown = set(r) - {"name", "kind", "email", "role"}
        if unknown:
            raise PackError(f"{where} has unknown settings {sorted(unknown)} (known: name, kind, email, role)")
        kind = r.get("kind")
        if kind not in RECIPIENT_KINDS:
            raise PackError(f"{where} kind must be one of {', '.join(RECIPIENT_KINDS)}, not {kind!r}")
        email = r.get("email")
        if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
            raise PackError(f"{where} email must be the address its notices go to, e.g. email = \"repairs@example.org\", "
                            f"not {email!r}")
        role = r.get("role")
        if (kind == "role") != bool(role):
            raise PackError(f"{where}: " + ("a recipient of kind \"role\" names the pack's role it stands for, "
                                             "e.g. role = \"asb_manager\"" if kind == "role"
                                             else "only a recipient of kind \"role\" names a role"))
        name = r.get("name")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise PackError(f"{where} name must be what people call it, e.g. name = \"Repairs team\"")
        if name is None and kind != "role":
            raise PackError(f"{where} needs a name, what people call it, e.g. name = \"Repairs team\"")
        found[key] = Recipient(key, (name or "").strip(), kind, email.strip(), role)
    return found


def _audience(raw: dict, setting: str, where: str, path, default):
    if setting not in raw:
        return default
    names = raw[setting]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PackError(f"{path}: {where} must be a list of recipient keys ([recipients.<key>]), "
                        f"e.g. {setting} = [\"housing_team\", \"repairs\"]")
    return tuple(dict.fromkeys(names))


def _mfa_required_for(meta: dict, path) -> frozenset[str]:
    """[pack] mfa_required_for: role keys; unset, the administrator, process owner and compliance roles."""
    roles = meta.get("mfa_required_for")
    if roles is None:
        return frozenset({meta.get(setting, getattr(Pack, setting))
                          for setting in ("administrator_role", "process_owner_role", "compliance_role")})
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise PackError(f"{path}: [pack] mfa_required_for must be a list of role keys, "
                        f"e.g. mfa_required_for = [\"admin\", \"process_owner\"] ([] for none)")
    return frozenset(roles)


def _delivery_methods(meta: dict, path) -> tuple[str, ...]:
    methods = meta.get("letter_delivery_methods", DELIVERY_METHODS)
    if not isinstance(methods, (list, tuple)) or not methods \
            or not all(isinstance(m, str) and m.strip() for m in methods):
        raise PackError(f"{path}: [pack] letter_delivery_methods must be a list of one or more names, "
                        f"e.g. [\"first class post\", \"hand delivered\"]")
    return tuple(m.strip() for m in methods)


def _registers(raw: dict, path, compliance_role: str) -> Registers:
    default = Registers(readers=frozenset({compliance_role}), non_disclosure_visible_to=frozenset({compliance_role}),
                        subject_access=frozenset({compliance_role}))
    unknown = set(raw) - {"readers", "case_readers", "non_disclosure_visible_to", "subject_access", "tell_tenant_within",
                          "withheld_when_not_told", "retain_closed_for", "retain_drafts_for"}
    if unknown:
        raise PackError(f"{path}: [registers] has unknown settings {sorted(unknown)}")
    withheld = tuple(raw.get("withheld_when_not_told", default.withheld_when_not_told))
    bad = set(withheld) - set(SUBJECT_ACCESS_SECTIONS)
    if bad:
        raise PackError(f"{path}: [registers] withheld_when_not_told names unknown sections {sorted(bad)} "
                        f"(known: {', '.join(SUBJECT_ACCESS_SECTIONS)})")
    readers = frozenset(raw.get("readers", default.readers))
    return Registers(
        readers=readers, case_readers=frozenset(raw.get("case_readers", readers)),
        non_disclosure_visible_to=frozenset(raw.get("non_disclosure_visible_to", default.non_disclosure_visible_to)),
        subject_access=frozenset(raw.get("subject_access", default.subject_access)),
        tell_tenant_within=raw.get("tell_tenant_within"),
        withheld_when_not_told=withheld,
        retain_closed_for=raw.get("retain_closed_for"),
        retain_drafts_for=raw.get("retain_drafts_for", DRAFTS_KEPT_FOR),
    )


def _notifications(raw: dict, path) -> Notifications:
    unknown = set(raw) - {"remind_before", "escalate_after", "managers"}
    if unknown:
        raise PackError(f"{path}: [notifications] has unknown settings {sorted(unknown)}")
    return Notifications(remind_before=raw.get("remind_before"), escalate_after=raw.get("escalate_after", "PT0S"),
                         managers=dict(raw.get("managers", {})))


def _housing_system(raw: dict, path) -> HousingSystem:
    unknown = set(raw) - {"role", "due_within", "name"}
    if unknown:
        raise PackError(f"{path}: [housing_system] has unknown settings {sorted(unknown)}")
    for setting in ("role", "due_within"):
        if not raw.get(setting):
            raise PackError(f"{path}: [housing_system] needs {setting} (who keeps the housing system in step, "
                            f"and the time they have to do it, e.g. role = \"customer_services\", due_within = \"P1D\")")
    return HousingSystem(role=raw["role"], due_within=raw["due_within"],
                         name=raw.get("name") or HousingSystem.name)


def _feed(raw, path) -> Feed:
    example = '[feed] name = "Civica Cx", categories = { rpo = "VIO" }'
    known = {"name", "categories", "levels", "failing_after"}
    if not isinstance(raw, dict) or set(raw) - known:
        unknown = sorted(set(raw) - known) if isinstance(raw, dict) else raw
        raise PackError(f"{path}: [feed] has unknown settings {unknown} (known: {', '.join(sorted(known))}; "
                        f"e.g. {example})")
    codes = {}
    for setting in ("categories", "levels"):
        table = raw.get(setting, {})
        if not isinstance(table, dict) or not all(isinstance(v, str) and v.strip() for v in table.values()):
            raise PackError(f"{path}: [feed] {setting} must map each of the pack's {setting} to the housing "
                            f"system's code for it, e.g. {example}")
        codes[setting] = {str(k): v.strip() for k, v in table.items()}
    attempts = raw.get("failing_after", Feed.failing_after)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise PackError(f"{path}: [feed] failing_after must be a whole number of attempts, 1 or more "
                        f"(after that many failed deliveries the change shows on the dashboard)")
    name = raw.get("name", Feed.name)
    if not isinstance(name, str) or not name.strip():
        raise PackError(f"{path}: [feed] name must be the receiving system's name, e.g. \"Civica Cx\"")
    return Feed(name=name.strip(), categories=codes["categories"], levels=codes["levels"], failing_after=attempts)


def _sso_groups(raw, path) -> dict[str, tuple[str, ...]]:
    example = '[sso] groups = { "ASB Managers" = ["asb_manager"] }'
    if not isinstance(raw, dict) or set(raw) - {"groups"}:
        unknown = sorted(set(raw) - {"groups"}) if isinstance(raw, dict) else raw
        raise PackError(f"{path}: [sso] has unknown settings {unknown} (known: groups, e.g. {example})")
    groups = raw.get("groups", {})
    if not isinstance(groups, dict):
        raise PackError(f"{path}: [sso] groups must map each group to a list of roles, e.g. {example}")
    mapped = {}
    for group, roles in groups.items():
        if not group.strip():
            raise PackError(f"{path}: [sso] groups has an empty group name")
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
            raise PackError(f"{path}: [sso] groups: group '{group}' must map to a list of one or more role keys, "
                            f"e.g. {example}")
        mapped[group.strip()] = tuple(dict.fromkeys(roles))
    return mapped


def _section(raw, name, path):
    if name not in raw:
        raise PackError(f"{path}: missing [{name}] section")
    return raw[name]


def _restriction_measures(x: dict, key: str, path) -> tuple[str, ...]:
    """[restrictions.<key>] control_measures: the measures such a marker carries, as staff read them."""
    measures = x.get("control_measures", [])
    if not isinstance(measures, list) or not all(isinstance(m, str) and m.strip() for m in measures):
        raise PackError(f"{path}: [restrictions.{key}] control_measures must be a list of measures as staff "
                        f"read them, e.g. control_measures = [\"Contact the relevant manager before visiting\"]")
    return tuple(m.strip() for m in measures)


SUBJECTS = ("person", "property")


def _category(key: str, c: dict, path) -> Category:
    """[categories.<key>]: label, description; `on` ("person" or "property"); assessment_process."""
    on = c.get("on", "person")
    if on not in SUBJECTS:
        raise PackError(f"{path}: [categories.{key}] on must be \"person\" (a marker on a customer) or "
                        f"\"property\" (a marker on an address, for whoever lives there), not {on!r}")
    processes = {}
    for setting in ("assessment_process", "review_process"):
        process = processes[setting] = c.get(setting)
        if process is not None and (not isinstance(process, str) or not process.strip()):
            raise PackError(f"{path}: [categories.{key}] {setting} must name a process of the pack (its id in "
                            f"the .bpmn file), e.g. {setting} = \"hazard_{setting.split('_')[0]}\", not {process!r}")
    return Category(key, c["label"], c.get("description", ""), on=on,
                    audience=_audience(c, "audience", f"[categories.{key}] audience", path, None), **processes)


def _process_name(meta: dict, name: str, path) -> str | None:
    value = meta.get(name)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise PackError(f"{path}: [pack] {name} must name a process of the pack (its id in the .bpmn file), "
                        f"e.g. {name} = \"small_incident\", not {value!r}")
    return value


def _review_carries(meta: dict, path) -> tuple[str, ...]:
    """[pack] review_carries: plain case-data names, e.g. ["complex_needs_consulted"]."""
    names = meta.get("review_carries", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n)
                                              for n in names):
        raise PackError(f"{path}: [pack] review_carries must be a list of case-data names (form field ids), "
                        f"e.g. review_carries = [\"complex_needs_consulted\"]")
    return tuple(names)


def _calendar(raw: dict, path) -> BusinessCalendar | None:
    """[calendar]: nation = "england-and-wales" | "scotland" | "northern-ireland", closed = [dates]."""
    if "calendar" not in raw:
        return None
    try:
        return business_days.from_settings(raw["calendar"], "[calendar]")
    except ValueError as err:
        raise PackError(f"{path}: {err}") from None


def _check_duration(value: str | None, where: str, calendar: BusinessCalendar | None = None) -> None:
    """A duration setting that parses (ISO 8601, or working days on the pack's calendar), or none at all."""
    if value:
        try:
            clock.duration_after(clock.now(), value, calendar)
        except ValueError as err:
            raise PackError(f"{where}: {err}") from None


def _check_drafts_kept(value, where: str, calendar: BusinessCalendar | None) -> None:
    """A draft is deleted once unsaved this long: a duration of at least a day, or a draft typed in the
    morning could be gone before the person comes back to it."""
    if not isinstance(value, str) or not value.strip():
        raise PackError(f"{where} must be a duration, e.g. retain_drafts_for = \"{DRAFTS_KEPT_FOR}\" "
                        f"(how long a step's unsent answers are kept after they were last saved)")
    _check_duration(value, where, calendar)
    start = clock.now()
    if clock.duration_after(start, value, calendar) < start + timedelta(days=1):
        raise PackError(f"{where} is {value}: keep drafts at least a day (P1D), or answers typed today could "
                        f"be deleted before the person comes back to them; e.g. retain_drafts_for = "
                        f"\"{DRAFTS_KEPT_FOR}\"")


def _check_references(pack: Pack, path) -> None:
    for setting, what in (("administrator_role", "manages accounts"), ("process_owner_role", "changes the policy"),
                          ("compliance_role", "watches the registers")):
        key = getattr(pack, setting)
        if key not in pack.roles:
            raise PackError(f"{path}: [pack] {setting} is '{key}', which is not a role of the pack: add "
                            f"[roles.{key}] or name the role that {what}")
    unknown = pack.import_by - set(pack.roles)
    if unknown:
        raise PackError(f"{path}: [pack] import_by names unknown roles {sorted(unknown)}")
    unknown = pack.mfa_required_for - set(pack.roles)
    if unknown:
        raise PackError(f"{path}: [pack] mfa_required_for names unknown roles {sorted(unknown)} "
                        f"(this pack has: {', '.join(sorted(pack.roles))})")
    for role in pack.roles.values():
        if role.escalates_to and role.escalates_to not in pack.roles:
            raise PackError(f"{path}: role '{role.key}' escalates_to unknown role '{role.escalates_to}'")
    for role in pack.roles.values():  # a ladder must end: a must-outrank step climbing it would go round
        seen, climbing = [role.key], pack.roles[role.escalates_to] if role.escalates_to else None
        while climbing is not None:
            if climbing.key in seen:
                loop = " -> ".join(seen[seen.index(climbing.key):] + [climbing.key])
                raise PackError(f"{path}: role '{role.key}' escalates_to makes a loop of seniority ({loop}): "
                                f"each role must escalate to a more senior one, and the top role to none")
            seen.append(climbing.key)
            climbing = pack.roles[climbing.escalates_to] if climbing.escalates_to else None
    for role in pack.roles.values():
        unknown = set(role.deputises_for) - set(pack.roles)
        if unknown:
            raise PackError(f"{path}: role '{role.key}' deputises_for unknown roles {sorted(unknown)}")
    _check_duration(pack.appeal_within, f"{path}: appeal_within", pack.calendar)
    if pack.late_appeals and not pack.appeal_within:
        raise PackError(f"{path}: [pack] late_appeals is set, but appeal_within is not: without a time to "
                        f"appeal no appeal is late; set appeal_within, e.g. appeal_within = \"P10WD\"")
    regs = pack.registers
    for setting in ("readers", "case_readers", "non_disclosure_visible_to", "subject_access"):
        unknown = getattr(regs, setting) - set(pack.roles)
        if unknown:
            raise PackError(f"{path}: [registers] {setting} names unknown roles {sorted(unknown)}")
    for setting in ("tell_tenant_within", "retain_closed_for"):
        _check_duration(getattr(regs, setting), f"{path}: [registers] {setting}", pack.calendar)
    _check_drafts_kept(regs.retain_drafts_for, f"{path}: [registers] retain_drafts_for", pack.calendar)
    if pack.letters and not regs.tell_tenant_within:
        raise PackError(f"{path}: the pack issues letters, so it must say how soon the tenant is told of a "
                        f"decision: set [registers] tell_tenant_within, e.g. tell_tenant_within = \"P14D\" "
                        f"(an ISO 8601 duration; the dashboard lists letters not delivered by then)")
    notes = pack.notifications
    for setting in ("remind_before", "escalate_after"):
        _check_duration(getattr(notes, setting), f"{path}: [notifications] {setting}", pack.calendar)
    for managed, manager in notes.managers.items():
        for role in (managed, manager):
            if role not in pack.roles:
                raise PackError(f"{path}: [notifications.managers] names unknown role '{role}'")
    for managed in notes.managers:  # an overdue step's escalation climbs managers: it must reach a top
        seen, manager = [managed], notes.managers.get(managed)
        while manager is not None:
            if manager in seen:
                loop = " -> ".join(seen[seen.index(manager):] + [manager])
                raise PackError(f"{path}: [notifications.managers] {managed} makes a loop of managers ({loop}): "
                                f"the most senior manager must manage no one above them")
            seen.append(manager)
            manager = notes.managers.get(manager)
    for rule in pack.restrictions.values():
        unknown = rule.visible_to - set(pack.roles)
        if unknown:
            raise PackError(f"{path}: restriction '{rule.key}' names unknown roles {sorted(unknown)}")
    for group, roles in pack.sso_groups.items():
        unknown = set(roles) - set(pack.roles)
        if unknown:
            raise PackError(f"{path}: [sso] groups: group '{group}' names unknown roles {sorted(unknown)} "
                            f"(this pack has: {', '.join(sorted(pack.roles))})")
    _check_housing_system(pack, path)
    _check_recipients(pack, path)
    if pack.feed is not None:
        unknown = sorted(set(pack.feed.categories) - set(pack.categories))
        if unknown:
            raise PackError(f"{path}: [feed] categories names unknown categories {unknown} "
                            f"(this pack has: {', '.join(sorted(pack.categories))})")


def _check_recipients(pack: Pack, path) -> None:
    known = ", ".join(sorted(pack.recipients)) or "none: add [recipients.<key>] with name, kind and email"
    for key, recipient in list(pack.recipients.items()):
        if recipient.role is not None:
            if recipient.role not in pack.roles:
                raise PackError(f"{path}: [recipients.{key}] role names unknown role '{recipient.role}' "
                                f"(this pack has: {', '.join(sorted(pack.roles))})")
            if not recipient.name:  # a role's mailbox is called what the role is called
                pack.recipients[key] = Recipient(key, pack.roles[recipient.role].name, recipient.kind,
                                                 recipient.email, recipient.role)
    audiences = [("[circulation] default_audience", pack.default_audience)] + [
        (f"[categories.{c.key}] audience", c.audience) for c in pack.categories.values() if c.audience is not None]
    for where, names in audiences:
        unknown = [n for n in names if n not in pack.recipients]
        if unknown:
            raise PackError(f"{path}: {where} names {', '.join(repr(n) for n in unknown)}, which "
                            f"{'is' if len(unknown) == 1 else 'are'} not a recipient of the pack (its recipients: {known})")


def _check_housing_system(pack: Pack, path) -> None:
    hs = pack.housing_system
    for rule in pack.restrictions.values():
        if rule.housing_system_role and rule.housing_system_role not in pack.roles:
            raise PackError(f"{path}: restriction '{rule.key}' housing_system_role names unknown role "
                            f"'{rule.housing_system_role}'")
    if hs is None:
        return
    if hs.role not in pack.roles:
        raise PackError(f"{path}: [housing_system] role names unknown role '{hs.role}' "
                        f"(this pack has: {', '.join(sorted(pack.roles))})")
    _check_duration(hs.due_within, f"{path}: [housing_system] due_within", pack.calendar)
    for rule in pack.restrictions.values():
        role = pack.housing_system_role(rule.key)
        if role not in rule.visible_to:
            raise PackError(
                f"{path}: the {pack.roles[role].name} role keeps {hs.name} in step but may not see "
                f"{rule.key} records; set housing_system_role in [restrictions.{rule.key}] to one of "
                f"{sorted(rule.visible_to)}, or add '{role}' to its visible_to")
