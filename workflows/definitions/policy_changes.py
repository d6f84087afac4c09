"""Diagram files from process owners (an upload, a save from the web modeler, or the pack's
files by `alertflow pack deploy`): checked against the pack and compared with what is deployed,
then deployed as new versions; and the deployed pack written back to files (`pack export`).
The deployed versions are the one truth of what runs: the pack's files never replace a newer
version they do not hold (a web change) unless the process owner forces it, audited. Only the
process owner role may deploy; the caller's transaction holds the deploy and its audit events,
so a refused file leaves nothing behind."""
import hashlib
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.definitions import deployment, pack_versions, settings_impact, spiff, versions
from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.definitions.deployment import DefinitionRefused, Finding
from workflows.compliance import audit
from workflows.platform import clock
from workflows.platform.errors import NotAllowed, WorkflowError
from workflows.platform.models import Alert, PackSettingsVersion, ProcessDefinition
from workflows.definitions.pack import Pack, PackError, PackSource, load_pack, pack_from_source, read_pack_files

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
    warnings: list[Finding] = field(default_factory=list)  # deployable, but best done otherwise
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
    # together=[]: a file from the web is deployed alone, so the processes it may name are its own and
    # those deployed; a diagram lying in the pack's folder on the server is not running, and counting
    # it would pass a schedule_review that stops a case at run time
    return deployment.check(content, filename, pack, db, together=[])


def check_file(db: Session, *, pack: Pack, content: bytes, filename: str) -> Checked:
    """Check a diagram file against the pack, and spell out what it changes in each process."""
    result = Checked(filename, _precheck(content, filename))
    if result.findings:  # empty, too big or not text: read no further
        return result
    result.findings = _findings(content, filename, pack, db)
    result.warnings = deployment.warnings(content, filename)
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


def deploy(db: Session, *, pack: Pack, actor: Actor, content: bytes, filename: str,
           change_note: str | None = None) -> list[ProcessDefinition]:
    """Check a file and deploy each changed process in it as a new version (audited by
    definitions.deploy_file); raises DefinitionRefused with the findings, deploying nothing.
    The web asks for a change note (shown in the versions list); `change_note=None` is allowed to
    callers that say why elsewhere."""
    require_owner(pack, actor)
    findings = _findings(content, filename, pack, db)
    if findings:
        raise DefinitionRefused(findings)
    return deployment.deploy_file(db, pack=pack, content=content, filename=filename, deployed_by=actor.username,
                                  change_note=change_note, together=[])


class ChangeNoteMissing(WorkflowError, ValueError):
    """A deploy from the web without saying why; nothing was deployed."""


def require_change_note(note: str | None) -> str:
    note = " ".join((note or "").split())
    if not note:
        raise ChangeNoteMissing("Write a change note: say what you changed and why (it is shown in the "
                                "versions list and kept in the audit log). Nothing was deployed.")
    return note[:2000]


@dataclass
class CheckedSettings:
    """What checking an edit of pack.toml and the letters found, and what it would change."""
    findings: list[Finding] = field(default_factory=list)
    newest: int | None = None  # the newest deployed settings version, None if none is
    changes: list[str] = field(default_factory=list)
    letter_files: set[str] = field(default_factory=set)  # the templates pack.toml names
    new_pack: Pack | None = None  # the settings as checked, when they could be read

    @property
    def ok(self) -> bool:
        return not self.findings


def _settings_finding(err: PackError) -> Finding:
    """'pack.toml: line 7: [pack] x ...' as a finding: the file, the line, the message."""
    label, _, rest = str(err).partition(": ")
    where, found, message = rest.partition(": ")
    if found and where.startswith("line "):
        return Finding(label, where, message)
    return Finding(label, "(settings)", rest or str(err))


def check_settings(db: Session, *, pack: Pack, source: PackSource) -> CheckedSettings:
    """Check pack.toml and the letter templates as edited: the settings themselves (a syntax error,
    an unknown setting, a role named but not defined, a loop of seniority, a $ naming no field), then
    the newest deployed diagrams against them (a letter reading a field no path to its step sets, a
    lane whose role is gone). Every finding names the file and the line or the element."""
    current = pack_versions.newest(db, pack=pack.key)
    result = CheckedSettings(newest=current.version if current else None)
    try:
        new_pack = pack_from_source(pack.key, pack.directory, source)
    except PackError as err:
        result.findings.append(_settings_finding(err))
        return result
    result.letter_files = {letter.file for letter in new_pack.letters.values()}
    result.new_pack = new_pack
    result.findings = _deployed_diagrams_against(db, pack, new_pack, together=[])  # settings alone, no diagram
    kept = PackSource(source.pack_toml, {n: b for n, b in source.letters.items() if n in result.letter_files})
    result.changes = pack_versions.describe_changes(pack_versions.source_of(current) if current else None, kept)
    return result


def _deployed_diagrams_against(db: Session, pack: Pack, new_pack: Pack, *, together: list[tuple[str, bytes]],
                               skip: set[str] = frozenset()) -> list[Finding]:
    """The newest deployed version of every process (those deployed from the web included, whose
    diagram is in no file) checked against settings about to be deployed: a lane whose role they
    remove, a letter template or category a diagram names that they no longer have. Each finding
    names the diagram and its element. `together`: the diagram files deployed with the settings,
    whose processes count as the pack's ([] from the web: only what is deployed does); `skip`:
    processes about to be replaced by a file checked on its own."""
    removed = _removed_settings(pack, new_pack)
    findings = []
    for definition in _newest_versions(db, pack.key):
        if definition.process_id not in skip:
            findings += [_deployed(f, definition, removed) for f in
                         deployment.check(definition.bpmn_xml, definition.filename, new_pack, db, together)]
    return list(dict.fromkeys(findings))


def _removed_settings(old: Pack, new: Pack) -> dict[str, tuple[str, ...]]:
    """The roles, letters and categories the new settings no longer define, as pack.toml names them
    ([roles.asb_team]), with the words a lint finding about each would hold."""
    removed = {}
    for key in old.roles.keys() - new.roles.keys():
        removed[f"[roles.{key}]"] = (f"lane '{old.roles[key].name}'", f"lane '{key}'", f"role '{key}'")
    for key in old.letters.keys() - new.letters.keys():
        removed[f"[letters.{key}]"] = (f"template '{key}'",)
    for key in old.categories.keys() - new.categories.keys():
        removed[f"[categories.{key}]"] = (f"category '{key}'",)
    return removed


def _deployed(finding: Finding, definition: ProcessDefinition, removed: dict) -> Finding:
    """A finding in a deployed diagram, saying which deployed version it is in and, where the new
    settings removed what it names, which setting that was."""
    named = [setting for setting, words in removed.items() if any(w in finding.message for w in words)]
    message = finding.message + (f" (the new pack.toml removes {', '.join(named)})" if named else "")
    return Finding(f"{finding.filename} ({definition.process_id} version {definition.version}, deployed)",
                   finding.element, message, finding.name)


def impact_of_settings(db: Session, *, pack: Pack, actor: Actor, checked: CheckedSettings) -> list:
    """Before a settings deploy, for a process owner: each running case the checked pack.toml would
    change something for, whether it could go on and what would change (settings_impact.impact),
    named by number only and only on records the process owner may know exist. Settings with
    problems cannot be deployed, so have no impact to show."""
    require_owner(pack, actor)
    if not checked.ok or checked.new_pack is None or not checked.changes:
        return []
    return _as_known_to(db, pack, actor, settings_impact.impact(db, old=pack, new=checked.new_pack))


def deploy_settings(db: Session, *, pack: Pack, actor: Actor, source: PackSource,
                    change_note: str) -> PackSettingsVersion | None:
    """Deploy pack.toml and the letters as a new settings version, as a process owner with a change
    note, if nothing is wrong (DefinitionRefused otherwise, nothing deployed). None: unchanged."""
    require_owner(pack, actor)
    note = require_change_note(change_note)
    checked = check_settings(db, pack=pack, source=source)
    if checked.findings:
        raise DefinitionRefused(checked.findings)
    # a template pack.toml no longer names is not kept in the new version (the older ones hold it)
    source = PackSource(source.pack_toml, {name: body for name, body in source.letters.items()
                                           if name in checked.letter_files})
    return pack_versions.deploy(db, pack_key=pack.key, source=source, deployed_by=actor.username, change_note=note)


@dataclass
class FileChange:
    """A process whose diagram in the pack's files differs from its newest deployed version."""
    process_id: str
    filename: str
    newest: ProcessDefinition | None  # None: a process not deployed yet
    lines: list[str]  # what changed, spelled out (versions.describe_changes)

    @property
    def undoes_newer(self) -> bool:
        """Deploying the file would replace a version the files do not hold (a web change)."""
        return self.newest is not None and not self.newest.in_pack_files


class WouldUndoNewerVersion(NotAllowed):
    """The pack's files would replace a newer version deployed elsewhere; nothing was deployed."""


@dataclass
class PackDeploy:
    changes: list[FileChange]
    deployed: list[ProcessDefinition]
    not_in_files: list[ProcessDefinition]  # deployed (e.g. from the web) with no diagram in the files
    settings: PackSettingsVersion | None = None  # pack.toml and the letters, if they differed
    settings_changes: list[str] = field(default_factory=list)
    settings_replaced: PackSettingsVersion | None = None  # a newest settings version the files did not hold


def deploy_pack_files(db: Session, *, pack: Pack, actor: Actor, force: bool = False,
                      change_note: str | None = None) -> PackDeploy:
    """Deploy the pack folder's diagrams, pack.toml and letters where they differ from the newest
    deployed versions, as a process owner. A newest version the files do not hold (deployed on the
    web, not exported since) is not replaced unless `force`; forcing is audited per version replaced."""
    require_owner(pack, actor)
    note = " ".join((change_note or "").split()) or "from the pack's files"
    files_pack = load_pack(pack.key, pack.directory.parent)  # the settings the files' diagrams go with
    _, source = read_pack_files(pack.key, pack.directory.parent)
    files = deployment.pack_files(files_pack)
    deployment.check_files(files, files_pack, db)
    in_files = {p for name, content in files for p in _process_ids(content)}
    settings_differ = not _same_settings(db, pack, source)
    if settings_differ:
        # the processes deployed from the web (no diagram in the files) must work under the files' settings too
        findings = _deployed_diagrams_against(db, pack, files_pack, together=files, skip=in_files)
        if findings:
            raise DefinitionRefused(findings)
    changes = _file_changes(db, pack, files)
    undone = [c for c in changes if c.undoes_newer]
    settings_now = pack_versions.newest(db, pack=pack.key)
    settings_undone = settings_now if settings_differ and settings_now is not None \
        and not settings_now.in_pack_files else None
    settings_lines = pack_versions.describe_changes(pack_versions.source_of(settings_now) if settings_now else None,
                                                    source) if settings_differ else []
    if (undone or settings_undone) and not force:
        raise WouldUndoNewerVersion(_undo_refusal(pack, undone, actor, settings_undone, settings_lines))
    for change in undone:
        audit.record(db, actor=actor.username, action="process_deploy_forced", process_id=change.process_id,
                     replaced_version=change.newest.version, replaced_deployed_by=change.newest.deployed_by,
                     filename=change.filename, changes=change.lines)
    if settings_undone:
        audit.record(db, actor=actor.username, action="pack_settings_deploy_forced", pack=pack.key,
                     replaced_version=settings_undone.version, replaced_deployed_by=settings_undone.deployed_by,
                     changes=settings_lines)
    settings = pack_versions.deploy(db, pack_key=pack.key, source=source, deployed_by=actor.username,
                                    change_note=note, from_pack_files=True) if settings_differ else None
    changed_files = {c.filename for c in changes}
    deployed = [d for name, content in files if name in changed_files
                for d in deployment.deploy_file(db, pack=files_pack, content=content, filename=name,
                                                deployed_by=actor.username, from_pack_files=True, change_note=note,
                                                together=files)]
    not_in_files = [d for d in _newest_versions(db, pack.key) if d.process_id not in in_files]
    return PackDeploy(changes, deployed, not_in_files, settings, settings_lines, settings_undone)


def _same_settings(db: Session, pack: Pack, source: PackSource) -> bool:
    settings_now = pack_versions.newest(db, pack=pack.key)
    return settings_now is not None and settings_now.content_hash == source.content_hash


def _file_changes(db, pack, files) -> list[FileChange]:
    changes = []
    for name, content in files:
        digest = hashlib.sha256(content).hexdigest()
        for process_id in _process_ids(content):
            newest = deployment.latest(db, pack=pack.key, process_id=process_id)
            if newest is not None and newest.content_hash == digest:
                continue
            lines = versions.describe_changes(newest.bpmn_xml, content) if newest is not None else []
            changes.append(FileChange(process_id, name, newest, lines))
    return changes


def _process_ids(content: bytes) -> list[str]:
    return [p.get("id") for p in spiff.safe_xml(content).iterfind("bpmn:process", NS) if p.get("id")]


def _undo_refusal(pack, undone, actor, settings_undone=None, settings_lines=()) -> str:
    parts = []
    for c in undone:
        by = "you" if c.newest.deployed_by == actor.username else c.newest.deployed_by
        parts.append(f"{c.process_id} version {c.newest.version} was deployed by {by} on "
                     f"{_in_words(c.newest.deployed_at)} and is not in the pack's files; deploying "
                     f"{c.filename} would undo it:\n" + "\n".join(f"  {line}" for line in c.lines or ["(only the layout or formatting)"]))
    if settings_undone is not None:
        by = "you" if settings_undone.deployed_by == actor.username else settings_undone.deployed_by
        parts.append(f"pack.toml and letters version {settings_undone.version} was deployed by {by} on "
                     f"{_in_words(settings_undone.deployed_at)} (\"{settings_undone.change_note}\") and is not in "
                     f"the pack's files; deploying pack.toml and the letters would undo it:\n"
                     + "\n".join(f"  {line}" for line in settings_lines or ["(only the formatting)"]))
    return ("\n".join(parts) + "\nNothing was deployed. To keep what is deployed, write it to the pack's files: "
            f"alertflow pack export DIR --as {actor.username}; to replace it with the files: "
            f"alertflow pack deploy --as {actor.username} --force (audited)")


def _in_words(moment) -> str:
    moment = clock.as_utc(moment)
    return f"{moment.day} {moment:%B %Y at %H:%M} UTC"


def _newest_versions(db: Session, pack_key: str) -> list[ProcessDefinition]:
    ids = sorted({d.process_id for d, _ in deployment.versions(db, pack=pack_key)})
    return [deployment.latest(db, pack=pack_key, process_id=process_id) for process_id in ids]


def deployed_files(db: Session, *, pack_key: str) -> list[tuple[str, bytes]]:
    """The newest version of each of a pack's processes as the files that hold them, (name,
    content), as `pack export` writes them; in the order they were deployed, so deploying them in
    turn leaves a process two of them hold on its newest version."""
    newest = sorted(_newest_versions(db, pack_key), key=lambda d: d.id)
    return [(name, xml.encode("utf-8")) for name, xml in _as_files(newest).items()]


def _as_files(newest: list[ProcessDefinition]) -> dict[str, str]:
    """File name -> diagram for these versions: each under the name it was deployed from, made a plain
    .bpmn name; two processes last deployed from different files of one name each under its own."""
    by_name: dict[str, str] = {}
    for definition in newest:
        name = _file_name(definition)
        if by_name.get(name, definition.bpmn_xml) != definition.bpmn_xml:
            name = f"{definition.process_id}.bpmn"
        by_name[name] = definition.bpmn_xml
    return by_name


@dataclass
class Exported:
    written: list[Path]
    removed: list[Path]  # other diagrams in the folder holding a deployed process: a second, stale source
    kept: list[Path]  # other diagrams in the folder, of no deployed process (pack deploy would deploy them)


def export_pack(db: Session, *, pack: Pack, actor: Actor, directory: Path) -> Exported:
    """Write the deployed pack to a folder, as a process owner: the newest version of each process
    (byte for byte as deployed), the newest pack.toml and letters, and demo.toml (and anything else
    not versioned) as it is in the pack's folder. The versions written count as held in the files
    from then on (see FileChange)."""
    require_owner(pack, actor)
    newest = _newest_versions(db, pack.key)
    settings = pack_versions.newest(db, pack=pack.key)
    by_name = _as_files(newest)
    settings_files = {}
    if settings is not None:
        settings_files = {"pack.toml": settings.pack_toml, **(settings.letters or {})}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        if pack.directory.is_dir() and directory.resolve() != pack.directory.resolve():  # a pack made on the web has none
            versioned = set(settings_files)
            shutil.copytree(pack.directory, directory, dirs_exist_ok=True, ignore=lambda folder, names: [
                n for n in names if n.endswith(".bpmn")
                or (Path(folder) / n).relative_to(pack.directory).as_posix() in versioned])
        others = [path for path in sorted(directory.glob("*.bpmn")) if path.name not in by_name]
        stale = [path for path in others if set(_file_process_ids(path)) & {d.process_id for d in newest}]
        written = []
        for name, text in sorted(settings_files.items()):
            target = (directory / name).resolve()
            if directory.resolve() not in target.parents:
                raise WorkflowError(f"pack.toml names a letter template outside the pack's folder: {name}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(directory / name)
        for name, xml in sorted(by_name.items()):
            (directory / name).write_bytes(xml.encode("utf-8"))
            written.append(directory / name)
        for path in stale:
            path.unlink()
    except OSError as err:
        raise WorkflowError(f"cannot write the pack to {directory}: {err.strerror or err}") from None
    for definition in newest:
        definition.in_pack_files = True
    if settings is not None:
        settings.in_pack_files = True
    audit.record(db, actor=actor.username, action="pack_exported", pack=pack.key, directory=str(directory),
                 versions={d.process_id: d.version for d in newest},
                 settings_version=settings.version if settings else None)
    return Exported(written, stale, [path for path in others if path not in stale])


def _file_process_ids(path: Path) -> list[str]:
    try:
        return _process_ids(path.read_bytes())
    except (spiff.XmlRefused, ValueError):
        return []  # not a diagram this pack can read: left as it is


def _file_name(definition: ProcessDefinition) -> str:
    """The deployed file's own name, made a plain .bpmn name in the folder: an upload may be .xml, or
    a downloaded version (derby_review.v2.bpmn) sent back as it was named."""
    stem = re.sub(r"(\.v\d+)?\.(bpmn|xml)$", "", Path(definition.filename).name, flags=re.IGNORECASE)
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", stem).strip("._")
    return f"{stem or definition.process_id}.bpmn"


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


def impact(db: Session, *, pack: Pack, actor: Actor, checked: Checked, content: bytes) -> dict[str, list]:
    """Before a deploy, for a process owner: each running case of each process the checked file
    changes, whether it could move onto it and what would move for it (versions.impact). Cases are
    named by number only, and only those on records the process owner may know exist. A file with
    problems cannot be deployed, so has no impact to show."""
    require_owner(pack, actor)
    if not checked.ok:
        return {}
    return {process_id: _as_known_to(db, pack, actor, rows)
            for process_id, rows in versions.impact(db, pack=pack, content=content, filename=checked.filename).items()}


def _as_known_to(db: Session, pack: Pack, actor: Actor, moves: list) -> list:
    """The moves on records this person may know exist. Cases on restricted records are checked
    and moved the same way (a version is a technical matter), but never listed or counted to
    someone outside the restriction's list; each move is audited as usual."""
    ids = {m.alert_id for m in moves}
    known = set(db.scalars(select(Alert.id).where(Alert.id.in_(ids), permissions.visible(pack, actor)))) if ids else set()
    return [m for m in moves if m.alert_id in known]


PROCESS_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}")
LANE_HEIGHT, POOL_WIDTH = 160, 1100


def blank_diagram(db: Session, *, pack: Pack, actor: Actor, process_id: str, name: str) -> str:
    """A new process for the web modeler: a pool with one lane per lane the pack's deployed
    diagrams use (in the order they first appear) and a start event, laid out so the modeler
    draws it. Refused, in words, for an identifier that is not one or is already deployed."""
    from xml.sax.saxutils import quoteattr
    require_owner(pack, actor)
    process_id, name = (process_id or "").strip(), " ".join((name or "").split())
    if not name:
        raise WorkflowError("give the new process a name")
    if not PROCESS_ID.fullmatch(process_id):
        raise WorkflowError(f"'{process_id}' cannot be a process identifier: use letters, digits and _ "
                            f"(up to 60), starting with a letter, e.g. {pack.key}_request")
    if deployment.latest(db, pack=pack.key, process_id=process_id) is not None:
        raise WorkflowError(f"a process '{process_id}' is deployed already: edit it from the processes page")
    lanes = []
    for definition in _newest_versions(db, pack.key):
        root = spiff.safe_xml(definition.bpmn_xml)
        for lane in root.iterfind(".//bpmn:lane", NS):
            if lane.get("name") and lane.get("name") not in lanes:
                lanes.append(lane.get("name"))
    lanes = lanes or [role.name for role in pack.roles.values()][:1] or ["Lane"]
    lane_xml = "".join(f'<bpmn:lane id="Lane_{i}" name={quoteattr(n)}>'
                       f'{"<bpmn:flowNodeRef>start</bpmn:flowNodeRef>" if i == 0 else ""}</bpmn:lane>'
                       for i, n in enumerate(lanes))
    lane_shapes = "".join(f'<bpmndi:BPMNShape id="Lane_{i}_di" bpmnElement="Lane_{i}" isHorizontal="true">'
                          f'<dc:Bounds x="190" y="{80 + i * LANE_HEIGHT}" width="{POOL_WIDTH - 30}" '
                          f'height="{LANE_HEIGHT}"/></bpmndi:BPMNShape>' for i in range(len(lanes)))
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_{process_id}" targetNamespace="http://bpmn.io/schema/bpmn">
<bpmn:collaboration id="Collaboration_1"><bpmn:participant id="Participant_1" name={quoteattr(name)} processRef="{process_id}"/></bpmn:collaboration>
<bpmn:process id="{process_id}" name={quoteattr(name)} isExecutable="true">
<bpmn:laneSet id="LaneSet_1">{lane_xml}</bpmn:laneSet>
<bpmn:startEvent id="start" name="Started"/>
</bpmn:process>
<bpmndi:BPMNDiagram id="Diagram_1"><bpmndi:BPMNPlane id="Plane_1" bpmnElement="Collaboration_1">
<bpmndi:BPMNShape id="Participant_1_di" bpmnElement="Participant_1" isHorizontal="true"><dc:Bounds x="160" y="80" width="{POOL_WIDTH}" height="{LANE_HEIGHT * len(lanes)}"/></bpmndi:BPMNShape>
{lane_shapes}
<bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="242" y="{80 + LANE_HEIGHT // 2 - 18}" width="36" height="36"/></bpmndi:BPMNShape>
</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
'''
