"""Diagram files from process owners (an upload, or a save from the web modeler): checked
against the pack and compared with what is deployed, then deployed as new versions. Only the
process owner role may deploy; the caller's transaction holds the deploy and its audit events,
so a refused file leaves nothing behind."""
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.definitions import deployment, spiff, versions
from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.definitions.deployment import DefinitionRefused, Finding
from workflows.platform.errors import NotAllowed
from workflows.platform.models import Alert, ProcessDefinition
from workflows.definitions.pack import Pack

MAX_BYTES = 5_000_000  # the largest pack diagram is ~60 kB
NS = {"bpmn": deployment.BPMN}


def require_owner(pack: Pack, actor: Actor) -> None:
    if not permissions.is_process_owner(pack, actor):
        raise NotAllowed(f"{actor.username} is not a process owner; only process owners may deploy "
                         f"diagrams or migrate cases")


@dataclass
class Checked:
    """What checking a file found: problems naming their element, and what it would change."""
    filename: str
    findings: list[Finding] = field(default_factory=list)
    processes: list[str] = field(default_factory=list)
    # process id -> (newest deployed version or None if new, the changes from it spelled out)
    changes: dict[str, tuple[int | None, list[str]]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings


def _precheck(content: bytes, filename: str) -> list[Finding]:
    if not content.strip():
        return [Finding(filename, "(document)", "the file is empty")]
    if len(content) > MAX_BYTES:
        return [Finding(filename, "(document)", f"the file is {len(content):,} bytes; the limit is {MAX_BYTES:,}")]
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as err:
        return [Finding(filename, "(document)", f"the file is not UTF-8 text (byte {err.start}); "
                                                "save it from the modeler as UTF-8")]
    return []


def _findings(content: bytes, filename: str, pack: Pack, db: Session) -> list[Finding]:
    findings = _precheck(content, filename)
    if findings:
        return findings
    return deployment.check(content, filename, pack, db)


def check_file(db: Session, *, pack: Pack, content: bytes, filename: str) -> Checked:
    """Check a diagram file against the pack, and spell out what it changes in each process."""
    result = Checked(filename, _precheck(content, filename))
    if result.findings:  # empty, too big or not text: read no further
        return result
    result.findings = _findings(content, filename, pack, db)
    try:
        root = spiff.safe_xml(content)
    except (spiff.XmlRefused, ValueError):
        return result
    result.processes = [p.get("id") for p in root.iterfind("bpmn:process", NS) if p.get("id")]
    for process_id in result.processes:
        current = deployment.latest(db, pack=pack.key, process_id=process_id)
        if current is None:
            result.changes[process_id] = (None, [])
        else:
            result.changes[process_id] = (current.version, versions.describe_changes(current.bpmn_xml, content))
    return result


def deploy(db: Session, *, pack: Pack, actor: Actor, content: bytes, filename: str) -> list[ProcessDefinition]:
    """Check a file and deploy each changed process in it as a new version (audited by
    definitions.deploy_file); raises DefinitionRefused with the findings, deploying nothing."""
    require_owner(pack, actor)
    findings = _findings(content, filename, pack, db)
    if findings:
        raise DefinitionRefused(findings)
    return deployment.deploy_file(db, pack=pack, content=content, filename=filename, deployed_by=actor.username)


def plan_migration(db: Session, *, pack: Pack, actor: Actor, process_id: str, to_version: int | None = None):
    """The dry run, for a process owner: which running cases can move, and why not."""
    require_owner(pack, actor)
    return _as_known_to(db, pack, actor, versions.plan_migration(db, pack=pack, process_id=process_id,
                                                                 to_version=to_version))


def migrate(db: Session, *, pack: Pack, actor: Actor, process_id: str, to_version: int | None = None):
    """Move the cases that can move (one audit event each), as a process owner."""
    require_owner(pack, actor)
    return _as_known_to(db, pack, actor, versions.migrate(db, pack=pack, process_id=process_id,
                                                          to_version=to_version, actor=actor.username))


def _as_known_to(db: Session, pack: Pack, actor: Actor, moves: list) -> list:
    """The moves on records this person may know exist. Cases on restricted records are checked
    and moved the same way (a version is a technical matter), but never listed or counted to
    someone outside the restriction's list; each move is audited as usual."""
    ids = {m.alert_id for m in moves}
    known = set(db.scalars(select(Alert.id).where(Alert.id.in_(ids), permissions.visible(pack, actor)))) if ids else set()
    return [m for m in moves if m.alert_id in known]
