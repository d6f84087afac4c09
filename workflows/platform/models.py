"""The database: cases and their projections, the register of alerts, and the audit log.

A case's SpiffWorkflow state is JSON on the case row; what people and timers wait on is
projected into indexed columns (`HumanTask`, `Case.next_timer_at`) so that inboxes,
dashboards and the timer sweep never read the JSON.
"""
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (JSON, BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from workflows.platform import clock



class AlertStatus(StrEnum):
    """An alert's life: under_assessment -> active -> removed, or under_assessment -> not_placed."""
    UNDER_ASSESSMENT = "under_assessment"
    ACTIVE = "active"
    REMOVED = "removed"
    NOT_PLACED = "not_placed"


class CaseStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ERROR = "error"  # set aside by the timer sweep until an administrator retries it


class TaskStatus(StrEnum):
    READY = "ready"  # waiting for its role, unclaimed
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_TASK = (TaskStatus.READY, TaskStatus.CLAIMED)

class Base(DeclarativeBase):
    pass


def _now():
    return clock.now()


Stamp = DateTime(timezone=True)


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    # their own choice: an e-mail when a step arrives in their inbox (workflows/tasks/reminders.py)
    announce_new_steps: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    password_hash: Mapped[str | None] = mapped_column(String(300))
    # the identity provider's issuer and subject ("<iss> <sub>") of an account made by single
    # sign-on: it signs in only that way, and is found again by it whatever its username becomes
    sso_subject: Mapped[str | None] = mapped_column(String(600), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # stored in each signed session at sign-in; bumping it ends every session signed in before
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    # away (leave, sickness) on these days inclusive: someone who deputises for their role may act
    away_from: Mapped[date | None] = mapped_column(Date)
    away_until: Mapped[date | None] = mapped_column(Date)
    # two-step sign-in (workflows/accounts/second_factor.py): the TOTP secret, encrypted with a key
    # outside the database; set but not yet confirmed while they are enrolling
    mfa_secret: Mapped[str | None] = mapped_column(String(300))
    mfa_enabled_at: Mapped[datetime | None] = mapped_column(Stamp)
    mfa_last_step: Mapped[int | None] = mapped_column(BigInteger)  # the last code's time step: used once
    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")

    @property
    def role_keys(self) -> set[str]:
        return {r.role for r in self.roles}


class MfaRecoveryCode(Base):
    """One of a user's recovery codes for two-step sign-in: its SHA-256 only; used once."""
    __tablename__ = "mfa_recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(Stamp)


class UserRole(Base):
    __tablename__ = "user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)
    user: Mapped[User] = relationship(back_populates="roles")


class Property(Base):
    """A home (or other place staff visit): the address is its lines, one a line; the postcode is
    what staff search by; the UPRN (Unique Property Reference Number) where known."""
    __tablename__ = "property"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(12), index=True)
    uprn: Mapped[str | None] = mapped_column(String(12), unique=True)

    @property
    def name(self) -> str:
        """How a marker on the property names it: its address's first line."""
        return self.address.split("\n")[0].split(",")[0] if self.address else self.reference


class Tenancy(Base):
    """A customer living at a property from `started_at` (None: before the register's records
    began) until `ended_at` (None: still living there). The one home for "who lives where on a
    day" (workflows/register/tenancy.py)."""
    __tablename__ = "tenancy"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    property_id: Mapped[int] = mapped_column(ForeignKey("property.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(40), index=True)  # the housing system's tenancy reference
    started_at: Mapped[datetime | None] = mapped_column(Stamp)
    ended_at: Mapped[datetime | None] = mapped_column(Stamp)
    property: Mapped[Property] = relationship(lazy="joined", innerjoin=True)


class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    # a member of the household of this lead tenant (None: a lead tenant, or nobody's household)
    household_of_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    # where they have lived, oldest first: read through `tenancy` (the current or latest one)
    tenancies: Mapped[list[Tenancy]] = relationship(
        lazy="selectin", order_by=lambda: (Tenancy.started_at.is_not(None), Tenancy.started_at, Tenancy.id))

    @property
    def tenancy(self) -> Tenancy | None:
        """Their tenancy now, else the latest one that has started (None: no address on record)."""
        moment = clock.now()
        started = [t for t in self.tenancies if t.started_at is None or clock.as_utc(t.started_at) <= moment]
        current = [t for t in started if t.ended_at is None or clock.as_utc(t.ended_at) > moment]
        return (current or started or [None])[-1]

    @property
    def home(self) -> Property | None:
        """The property they live in now (None: none on record, or their last tenancy has ended)."""
        tenancy = self.tenancy
        if tenancy is None or (tenancy.ended_at is not None and clock.as_utc(tenancy.ended_at) <= clock.now()):
            return None
        return tenancy.property

    @property
    def address(self) -> str:
        return self.tenancy.property.address if self.tenancy else ""

    @property
    def postcode(self) -> str:
        return self.tenancy.property.postcode if self.tenancy else ""

    @property
    def tenancy_ref(self) -> str | None:
        return self.tenancy.reference if self.tenancy else None

    @property
    def tenancy_ended_at(self) -> datetime | None:
        return self.tenancy.ended_at if self.tenancy else None


class ProcessDefinition(Base):
    """One deployed version of one BPMN process; cases are pinned to the version they started on."""
    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("pack", "process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(40))
    process_id: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)  # read once per version, by the spec cache
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    # the pack's files hold this version: deployed from them (`pack deploy`) or exported to them
    # (`pack export`); a newest version they do not hold (a web change) is not replaced without --force
    in_pack_files: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # why the process owner deployed it, shown in the versions list (None: deployed before notes)
    change_note: Mapped[str | None] = mapped_column(Text)


class PackSettingsVersion(Base):
    """One deployed version of a pack's pack.toml and its letter templates (what is not a diagram).
    The newest is what the web, the command line and the workers run, read once per version."""
    __tablename__ = "pack_settings_version"
    __table_args__ = (UniqueConstraint("pack", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    pack_toml: Mapped[str] = mapped_column(Text)
    letters: Mapped[dict] = mapped_column(JSON)  # the template's file as pack.toml names it -> its text
    content_hash: Mapped[str] = mapped_column(String(64))
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    change_note: Mapped[str] = mapped_column(Text)
    # as ProcessDefinition.in_pack_files: the pack's files hold it (deployed from them, or exported)
    in_pack_files: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ActivePack(Base):
    """The pack this install runs, as a process owner chose it (`alertflow pack use`, the packs page):
    one row, id 1; none, and ALERTFLOW_PACK names it (a new install). pack_versions.active_key reads it."""
    __tablename__ = "active_pack"
    __table_args__ = (CheckConstraint("id = 1", name="ck_active_pack_one_row"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(40))
    chosen_by: Mapped[str] = mapped_column(String(80))
    chosen_at: Mapped[datetime] = mapped_column(Stamp, default=_now)


NOT_TOLD = text("tenant_told IS NULL AND status = 'active'")
INTERIM = text("status = 'active' AND decision_no = 0")


class Alert(Base):
    """A warning marker on a customer, or on a property (a hazard at an address: the pack's category
    says which, `on = "property"`), from the first report to its removal, across all its cases."""
    __tablename__ = "alert"
    __table_args__ = (Index("ix_alert_restricted", "restriction", postgresql_where=text("restriction IS NOT NULL"),
                            sqlite_where=text("restriction IS NOT NULL")),
                      # "tenants not told": the few decided, active markers whose tenant is not yet told
                      Index("ix_alert_not_told", "decided_at", postgresql_where=NOT_TOLD, sqlite_where=NOT_TOLD),
                      # "interim alerts awaiting assessment": the few active markers with no decision yet
                      Index("ix_alert_interim", "placed_at", "id", postgresql_where=INTERIM, sqlite_where=INTERIM),
                      # the inbox's count of restricted records a role may not see, from the index alone (0027d)
                      Index("ix_alert_restricted_ids", "restriction", "id", postgresql_where=text("restriction IS NOT NULL"),
                            sqlite_where=text("restriction IS NOT NULL")),
                      # the register list: counted from an index alone, and walked in the order shown (0027d)
                      Index("ix_alert_register_count", "status", "restriction", "category"),
                      Index("ix_alert_review_order", "next_review_at", "id"),
                      # the dashboard's reviews overdue and due soon counted from the index alone (0028b)
                      Index("ix_alert_active_review", "next_review_at", "restriction", "id",
                            postgresql_where=text("status = 'active'"), sqlite_where=text("status = 'active'")),
                      Index("ix_alert_reported", "reported_at", "id"),
                      # a search's (and a check's) customers to their alerts, read from the index alone
                      Index("ix_alert_customer_ids", "customer_id", "status", "restriction", "category", "id"),
                      # an inbox filtered by category: the category's alert ids from the index alone (0030a)
                      Index("ix_alert_category", "category", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    property_id: Mapped[int | None] = mapped_column(ForeignKey("property.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    # under_assessment -> active -> removed, or under_assessment -> not_placed
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.UNDER_ASSESSMENT, index=True)
    restriction: Mapped[str | None] = mapped_column(String(40))
    level: Mapped[str | None] = mapped_column(String(40))
    marker_code: Mapped[str | None] = mapped_column(String(40))
    marker_text: Mapped[str | None] = mapped_column(Text)
    control_measures: Mapped[list | None] = mapped_column(JSON)
    # the pack's [marker_fields] as last decided: field id -> the chosen options' labels
    marker_details: Mapped[dict | None] = mapped_column(JSON)
    # the pack's [marker_fields] as set, field name -> its value (ISO text for a date): what every
    # later case of the marker starts with (engine.alert_data)
    marker_values: Mapped[dict | None] = mapped_column(JSON)
    reported_by: Mapped[str] = mapped_column(String(80))
    # the member of staff the incident happened to, if not the reporter: neither decides on it
    staff_involved: Mapped[str | None] = mapped_column(String(80))
    reported_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_role: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[datetime | None] = mapped_column(Stamp)
    decision_no: Mapped[int] = mapped_column(Integer, default=0)
    appealed_decision_no: Mapped[int | None] = mapped_column(Integer)
    # projections the engine keeps in the step's own transaction (workflows/register/letters.py,
    # `note_decision` and `note_told`), so the dashboard need not search the audit log: the case
    # that recorded the latest decision, and whether the tenant has been told of it ("letter": a
    # letter to the tenant from that case was delivered; "reason": a reason for not telling was
    # recorded in it; None: neither yet)
    decision_case_id: Mapped[int | None] = mapped_column(Integer)
    tenant_told: Mapped[str | None] = mapped_column(String(20))
    placed_by: Mapped[str | None] = mapped_column(String(80))
    placed_at: Mapped[datetime | None] = mapped_column(Stamp)
    review_count: Mapped[int] = mapped_column(Integer, default=0)
    next_review_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    removed_at: Mapped[datetime | None] = mapped_column(Stamp)
    removed_reason: Mapped[str | None] = mapped_column(Text)
    # the household member the report was about, where the pack puts markers on the lead tenant
    # (`markers_on_lead_tenant`): linked to the alert, their own record not flagged
    about_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    customer: Mapped[Customer | None] = relationship(lazy="joined", foreign_keys=[customer_id])
    about_customer: Mapped[Customer | None] = relationship(lazy="select", foreign_keys=[about_customer_id])

    @property
    def subject(self) -> "Customer | Property":
        """Who or what the marker is on: the customer, or the property (each has a name, reference,
        address and postcode for the pages, lists and letters that name it)."""
        return self.customer if self.customer_id is not None else self.property

    # defined after `subject`, whose decorator is the builtin this name would hide
    property: Mapped[Property | None] = relationship(lazy="joined")


class LinkedIncident(Base):
    """A later concern about a customer, reported as linked to the active marker already on them
    instead of opening a second alert: the marker's incidents, in order, and the case assessing it."""
    __tablename__ = "linked_incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_case.id"))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(Text)
    reported_by: Mapped[str] = mapped_column(String(80))
    staff_involved: Mapped[str | None] = mapped_column(String(80))
    reported_at: Mapped[datetime] = mapped_column(Stamp, default=_now)


class Case(Base):
    """One process instance: an assessment, one review period, or an appeal."""
    __tablename__ = "workflow_case"
    # "appeals past deadline" starts from the running appeals; from an alert to its cases and from a
    # step's case to its alert, each from an index alone (0027d)
    __table_args__ = (Index("ix_workflow_case_running_kind", "kind", postgresql_where=text("status = 'running'"),
                            sqlite_where=text("status = 'running'")),
                      Index("ix_workflow_case_alert_ids", "alert_id", "id"),
                      Index("ix_workflow_case_id_alert", "id", "alert_id"),
                      # the running cases of a kind with their alerts, from the index alone (0028b)
                      Index("ix_workflow_case_running_kind_ids", "kind", "id", "alert_id",
                            postgresql_where=text("status = 'running'"), sqlite_where=text("status = 'running'")))
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # assessment / review / appeal
    # running (waiting on people or timers), completed, cancelled, error
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.RUNNING, index=True)
    workflow_state: Mapped[dict] = mapped_column(JSON, deferred=True)  # read only by the engine
    next_timer_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    alert: Mapped[Alert] = relationship(lazy="joined", innerjoin=True)
    definition: Mapped[ProcessDefinition] = relationship(lazy="joined", innerjoin=True)
    __mapper_args__ = {"version_id_col": lock_version}


class HumanTask(Base):
    """Projection of a user task: what an inbox lists and who may act on it."""
    __tablename__ = "human_task"
    __table_args__ = (
        # a role's and a person's open steps, with what need to know and the filters judge them on (0030)
        Index("ix_human_task_open_role", "status", "role", "due_at", "id",
              postgresql_include=["assignee", "alert_id", "restriction"]),
        Index("ix_human_task_open_assignee", "status", "assignee", "due_at", "id",
              postgresql_include=["role", "alert_id", "restriction"]),
        Index("ix_human_task_open_case", "case_id", postgresql_where=text("status IN ('ready', 'claimed')"),
              sqlite_where=text("status IN ('ready', 'claimed')")),
        # the overdue dashboard pages open steps by due date: walked in order, it stops at a page
        Index("ix_human_task_open_due", "due_at", "id", postgresql_where=text("status IN ('ready', 'claimed')"),
              sqlite_where=text("status IN ('ready', 'claimed')")),
        # the dashboard's weeks: the steps closed since a moment (a cancelled one has no completed_at)
        Index("ix_human_task_closed", "completed_at", postgresql_where=text("status NOT IN ('ready', 'claimed')"),
              sqlite_where=text("status NOT IN ('ready', 'claimed')")),
        # a case's open steps as the inbox counts them, from the index alone; a role's by age (0027d)
        Index("ix_human_task_open_case_cover", "case_id", "status", "role", "assignee", "due_at", "id",
              postgresql_where=text("status IN ('ready', 'claimed')"), sqlite_where=text("status IN ('ready', 'claimed')")),
        Index("ix_human_task_open_role_age", "status", "role", "created_at", "id",
              postgresql_where=text("status IN ('ready', 'claimed')"), sqlite_where=text("status IN ('ready', 'claimed')")),
        # the open steps of the diagrams (not housing system obligations) by due date, with their
        # case: "appeals past deadline" counted and paged from the index alone (0028b)
        Index("ix_human_task_open_step_due", "due_at", "id", "case_id",
              postgresql_where=text("status IN ('ready', 'claimed') AND kind = 'step'"),
              sqlite_where=text("status IN ('ready', 'claimed') AND kind = 'step'")),
        # an inbox's open steps on an alert (restricted ones the reader may not see) and their
        # counts, from the index alone: no probe of the case between the step and its alert (0029)
        Index("ix_human_task_open_alert_cover", "alert_id", "status", "role", "assignee", "due_at", "id",
              postgresql_where=text("status IN ('ready', 'claimed')"), sqlite_where=text("status IN ('ready', 'claimed')")),
        # the few open steps on restricted records: what an inbox's reader may not see (0030)
        Index("ix_human_task_open_restricted", "restriction", "status", "role", "assignee", "due_at", "id",
              postgresql_where=text("status IN ('ready', 'claimed') AND restriction IS NOT NULL"),
              sqlite_where=text("status IN ('ready', 'claimed') AND restriction IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_case.id"), index=True)
    # the case's alert, which never changes: the inbox joins a step to its alert in one probe
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"))
    # the alert's restriction, kept on the step (workflows/register/restriction.py): an inbox applies
    # need to know to a list or count of steps without looking up each step's alert
    restriction: Mapped[str | None] = mapped_column(String(40))
    task_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    bpmn_id: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200))
    # role, assignee, status and due_at keep their previous value when set (active_history): the
    # flush counts the step out of its old tally and into its new (workflows/tasks/open_step_tally.py)
    role: Mapped[str] = mapped_column(String(80), active_history=True)
    assignee: Mapped[str | None] = mapped_column(String(80), active_history=True)
    # ready -> claimed -> completed, or cancelled
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.READY, active_history=True)
    # "step": a user task of the case's diagram; "housing_system": an obligation the register
    # creates to keep the landlord's housing system in step with a marker (workflows/register/housing_system.py)
    kind: Mapped[str] = mapped_column(String(20), default="step", server_default="step")
    instructions: Mapped[str | None] = mapped_column(Text)  # what to enter on the housing system
    outrank_user: Mapped[str | None] = mapped_column(String(80))
    outrank_rank: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(Stamp, active_history=True)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    completed_at: Mapped[datetime | None] = mapped_column(Stamp)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    form_data: Mapped[dict | None] = mapped_column(JSON)
    reminded_at: Mapped[datetime | None] = mapped_column(Stamp)
    escalated_at: Mapped[datetime | None] = mapped_column(Stamp)
    announced_at: Mapped[datetime | None] = mapped_column(Stamp)  # its arrival e-mailed, or nobody asked to be
    case: Mapped[Case] = relationship(lazy="joined", innerjoin=True)
    alert: Mapped["Alert"] = relationship(lazy="select")
    # read only when someone acts on this one step; inboxes filter on the table in SQL
    exclusions: Mapped[list["HumanTaskExclusion"]] = relationship(cascade="all, delete-orphan", lazy="select")

    @property
    def excluded(self) -> dict[str, str]:
        """username -> the rule that keeps them off this step."""
        return {e.username: e.reason for e in self.exclusions}


class OpenStepChange(Base):
    """A change in how many open human steps there are of one role, with one person (or nobody
    yet: ""), due on one of the organisation's days (or none: open_step_tally.NO_DUE_DAY): +1 when
    such a step opens or comes to that key, -1 when it closes or leaves it. Written in the flush that
    changes the step (workflows/tasks/open_step_tally.py), only ever inserted, so concurrent steps
    never wait on each other's row; the background round sums each key's changes into one row. The
    dashboard's overdue counts are the sums of the keys due before today, and a page header's count
    of a role's unclaimed steps the sum of its keys, instead of every step counted."""
    __tablename__ = "open_step_change"
    __table_args__ = (Index("ix_open_step_change_due", "due_day", "role", "assignee", "change"),
                      # a page header's sum for the roles of the signed-in person (0030c)
                      Index("ix_open_step_change_role", "role", "assignee", "due_day", "change"))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    role: Mapped[str] = mapped_column(String(80))
    assignee: Mapped[str] = mapped_column(String(80))
    due_day: Mapped[date] = mapped_column(Date)
    change: Mapped[int] = mapped_column(Integer)


class DashboardSummary(Base):
    """The compliance dashboard's two charts (open and overdue steps week by week, active markers
    by category and level) as the background round last counted them for readers who may see the
    same restricted records (`seen`: the restrictions they may see, sorted, comma-separated; ""
    for none). Counting them reads every step of twelve weeks and every active marker, so a
    request shows the last count and says when it was made."""
    __tablename__ = "dashboard_summary"
    pack: Mapped[str] = mapped_column(String(80), primary_key=True)
    seen: Mapped[str] = mapped_column(String(400), primary_key=True)
    counted_at: Mapped[datetime] = mapped_column(Stamp)
    weeks: Mapped[list] = mapped_column(JSON)
    markers: Mapped[list] = mapped_column(JSON)


class TaskDraft(Base):
    """A step's answers as someone types them, so a long assessment survives a closed tab or an
    ended session. One per person and step; deleted when the step completes or is withdrawn."""
    __tablename__ = "task_draft"
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    answers: Mapped[dict] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(Stamp, default=_now)


class HumanTaskExclusion(Base):
    """Someone who may not take, be given or see one step (nobody decides on their own incident).
    The primary key (task, username) is what the inbox's NOT EXISTS probes step by step (SQLite);
    (username, task) gives PostgreSQL's anti-join just this person's few rows."""
    __tablename__ = "human_task_exclusion"
    __table_args__ = (Index("ix_human_task_exclusion_username", "username", "task_id"),)
    task_id: Mapped[int] = mapped_column(ForeignKey("human_task.id"), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    # reported_by / staff_involved / mustDiffer:<field> / mustOutrank
    reason: Mapped[str] = mapped_column(String(160))


class SavedFilter(Base):
    """Inbox filters kept under a name: the saver's own (no role), or shared with everyone holding
    `role` (a team's "overdue partner information", say). `args` is the inbox's query arguments."""
    __tablename__ = "saved_filter"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    owner: Mapped[str] = mapped_column(String(80), index=True)
    role: Mapped[str | None] = mapped_column(String(80), index=True)
    args: Mapped[dict] = mapped_column(JSON)
    saved_at: Mapped[datetime] = mapped_column(Stamp, default=_now)


class RiskAssessment(Base):
    """A copy of an assessment or review form, kept by the team the pack names (Derby §4)."""
    __tablename__ = "risk_assessment"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_case.id"))
    assessed_by: Mapped[str] = mapped_column(String(80))
    assessed_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    content: Mapped[dict] = mapped_column(JSON)


class Letter(Base):
    __tablename__ = "letter"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_case.id"), index=True)
    template: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(80))
    issued_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    # the decision on the alert this letter told the tenant of (None: it told of none, e.g. a copy
    # of the assessment); an appeal window runs from the delivery of the letter of that decision
    decision_no: Mapped[int | None] = mapped_column(Integer)
    delivery_method: Mapped[str | None] = mapped_column(String(40))
    delivered_at: Mapped[datetime | None] = mapped_column(Stamp)
    # whom it went to, as the envelope read when it was issued: the name, then the address lines
    # (empty for a notice to someone else; None for letters issued before this was kept)
    addressed_to: Mapped[list | None] = mapped_column(JSON)


class NonDisclosure(Base):
    """The restricted register of decisions not to tell a tenant, with the reason."""
    __tablename__ = "non_disclosure"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("workflow_case.id"))
    reason: Mapped[str] = mapped_column(Text)
    consulted: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(Stamp, default=_now)


class Note(Base):
    """A note filed in one of the pack's notebooks (Derby's HM Sustainment notes, say)."""
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"), index=True)
    notebook: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=_now)


class AuditEvent(Base):
    """Append-only record of every decision and every view of a restricted record."""
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(Stamp, default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60), index=True)
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)
    alert_id: Mapped[int | None] = mapped_column(Integer, index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    # the hash chain (workflows/compliance/audit.py): position, the hash of the event before, this event's hash
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row: the last event in the audit chain. Locked while a transaction appends to the chain."""
    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class SignInFailure(Base):
    """A failed sign-in and the network address it came from, kept for the throttling window only:
    many failures from one address slow that address down, whichever usernames it tries."""
    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_address_at", "address", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    # the username tried, known or not, so one address's misses hold up only that address and name;
    # cleared when the name signs in from there, yet the failure still counts against the address
    username: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(Stamp, index=True)
    factor: Mapped[str] = mapped_column(String(20), default="password", server_default="password")  # or "code"


class ApiToken(Base):
    """A token a housing management system or out-of-hours service uses on the JSON API.
    Only the SHA-256 of the token is stored; the token itself is shown once, when created."""
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[list] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    last_used_at: Mapped[datetime | None] = mapped_column(Stamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Stamp)


class FeedEvent(Base):
    """The outbox of the housing system feed (workflows/register/feed.py): one row per change to
    a marker, written in the transaction that made the change, so a change that rolls back leaves
    no event and one that commits cannot lose it. The body is kept as the exact bytes sent (and
    signed) at every attempt; the id is the change feed's cursor."""
    __tablename__ = "feed_event"
    __table_args__ = (Index("ix_feed_event_undelivered", "next_attempt_at",
                            postgresql_where=text("delivered_at IS NULL"), sqlite_where=text("delivered_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    change: Mapped[str] = mapped_column(String(30))
    body: Mapped[str] = mapped_column(Text)
    # the [housing_system] step this event stands for: an acknowledged delivery completes it
    task_uuid: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    last_attempt_at: Mapped[datetime | None] = mapped_column(Stamp)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(Stamp)


class Circulation(Base):
    """A marker's circulation list (workflows/register/circulation.py): one row for each recipient
    told of it, by which step, with what wording, and why when the recipient is beyond the pack's
    default audience. Written in the step that told them (the outbox: a step that rolls back tells
    nobody); the e-mail goes after the step commits, and `sent_at` says when it went."""
    __tablename__ = "circulation"
    __table_args__ = (Index("ix_circulation_unsent", "id",
                            postgresql_where=text("sent_at IS NULL"), sqlite_where=text("sent_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("workflow_case.id"))
    element: Mapped[str] = mapped_column(String(200))  # the diagram's step, by its name with its id
    notice: Mapped[str] = mapped_column(String(20))  # told, amended, withdrawn, removed
    recipient: Mapped[str] = mapped_column(String(80))  # the pack's [recipients.<key>]
    recipient_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    wording: Mapped[str] = mapped_column(Text)  # the message as sent
    justification: Mapped[str | None] = mapped_column(Text)  # beyond the default audience: why
    told_by: Mapped[str] = mapped_column(String(80))
    told_at: Mapped[datetime] = mapped_column(Stamp, default=_now)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(Stamp)
