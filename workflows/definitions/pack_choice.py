"""The packs an install holds, which one runs, and a new pack made from a template, on no disk.

**The active pack** is one row in the database (`ActivePack`), written by a process owner (`alertflow
pack use KEY`, the packs page) and audited (`active_pack_chosen`); while there is none, ALERTFLOW_PACK
names it (a new install). pack_versions.active_key reads it at every request, command and task (one
small query), so a change reaches every process at once, without a restart.

**Cases running under the active pack** are why another pack cannot be made active while any is
unfinished (running, or set aside by the timer sweep): they run on the active pack's diagrams, and
everything else they read (who may act and read, the lanes' roles, the letters, the next review's
process) would come from the other pack, which may not have it, while no process owner's page would
list them any more. The refusal names how many there are, of which processes. So a pack is chosen
before going live (a new install, or a pack made for a landlord to try), not under running cases.

**A new pack** is made from a template: a pack the database holds (its newest deployed versions) or
a folder under ALERTFLOW_PACKS_DIR (its files). It gets its own key and name; its pack.toml, letters
and every diagram are checked as a deploy checks them (pack.toml built and checked, each diagram
against it and the others) and deployed as version 1 under the new key, in the caller's
transaction: nothing is written to the server's disk, and a refusal saves nothing. It has no folder:
it changes on the web like any deployed pack, and `pack export` writes it to one.
"""
import re
import tomllib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflows import permissions
from workflows.cases.assignment import Actor
from workflows.compliance import audit
from workflows.definitions import deployment, pack_versions, policy_changes
from workflows.definitions.pack import Pack, PackSource, load_pack, pack_from_source, read_pack_files, renamed
from workflows.platform import clock, config
from workflows.platform.errors import Conflict, NotAllowed, WorkflowError
from workflows.platform.models import ActivePack, Case, CaseStatus, PackSettingsVersion, ProcessDefinition

KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")  # the pack column is 40 characters
UNFINISHED = (CaseStatus.RUNNING, CaseStatus.ERROR)


@dataclass(frozen=True)
class PackEntry:
    """A pack this install holds, as the packs page and `pack list` show it."""
    key: str
    name: str
    active: bool
    settings_version: int | None  # its newest deployed pack.toml and letters; None: only a folder
    has_folder: bool


def packs(db: Session) -> list[PackEntry]:
    """Every pack the database holds or a folder under ALERTFLOW_PACKS_DIR holds, the active one first."""
    active = pack_versions.active_key()
    newest = dict(db.execute(select(PackSettingsVersion.pack, func.max(PackSettingsVersion.version))
                             .group_by(PackSettingsVersion.pack)).all())
    folders = _folders()
    entries = []
    for key in sorted(set(newest) | set(folders)):
        if key in newest:
            text = pack_versions.version(db, pack=key, number=newest[key]).pack_toml
        else:
            text = folders[key]
        entries.append(PackEntry(key, _name_in(text, key), key == active, newest.get(key), key in folders))
    return sorted(entries, key=lambda e: not e.active)


def _folders() -> dict[str, str]:
    """Folder name -> its pack.toml's text, for each pack folder under ALERTFLOW_PACKS_DIR."""
    found = {}
    root = config.packs_dir()
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if (path / "pack.toml").is_file():
            try:
                found[path.name] = (path / "pack.toml").read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                found[path.name] = ""
    return found


def _name_in(text: str, default: str) -> str:
    try:
        name = (tomllib.loads(text).get("pack") or {}).get("name")
    except tomllib.TOMLDecodeError:
        return default
    return name if isinstance(name, str) and name else default


# --- making a pack active ------------------------------------------------------------------------

def use(db: Session, *, pack: Pack, actor: Actor, key: str) -> Pack:
    """Make the pack `key` the active one, as a process owner of the active pack who is one of that
    pack too. A pack only in a folder is installed from it first (checked, as the first `pack
    deploy` does). Refused while cases of the active pack are unfinished (see the module's words),
    and for a pack this install does not hold; nothing changes then. Returns the pack made active."""
    policy_changes.require_owner(pack, actor)
    key = (key or "").strip()
    if key == pack.key:
        raise WorkflowError(f"the {pack.name} pack ({key}) is the active pack already; nothing changed")
    known = {e.key: e for e in packs(db)}
    if key not in known:
        raise WorkflowError(f"there is no pack '{key}' to make active; this install holds: "
                            f"{_listed(known.values())}")
    unfinished = _unfinished_cases(db, pack.key)
    if unfinished:
        count = sum(unfinished.values())
        each = ", ".join(f"{name}: {n}" for name, n in sorted(unfinished.items()))
        raise WorkflowError(
            f"{count} case{'s' if count != 1 else ''} of the {pack.name} pack {'are' if count != 1 else 'is'} not "
            f"finished ({each}): {'they run' if count != 1 else 'it runs'} on its diagrams, and under another pack "
            f"{'their' if count != 1 else 'its'} lanes, letters and next reviews would name what that pack may not "
            f"have. The {pack.name} pack stays the active one; another pack can be made active while no case of "
            f"the active pack is running (a new install, or before going live). Nothing changed.")
    if known[key].settings_version is None or not deployment.is_installed(db, pack=key):
        if not known[key].has_folder:
            raise WorkflowError(f"the {known[key].name} pack ({key}) has no diagrams deployed and no folder to "
                                f"install them from; nothing changed")
        deployment.install_pack(db, pack=load_pack(key, config.packs_dir()), installed_by=actor.username)
    chosen = pack_versions.built(pack_versions.newest(db, pack=key), config.packs_dir() / key)
    if not permissions.is_process_owner(chosen, actor):
        raise NotAllowed(f"{actor.username} would not be a process owner of the {chosen.name} pack (its process "
                         f"owner role is '{chosen.process_owner_role}', which {actor.username} does not hold), so "
                         f"nobody could be sure to change it back; nothing changed")
    row = db.get(ActivePack, 1)
    if row is None:
        db.add(ActivePack(id=1, pack=key, chosen_by=actor.username, chosen_at=clock.now()))
    else:
        row.pack, row.chosen_by, row.chosen_at = key, actor.username, clock.now()
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("someone else chose the active pack at the same moment; nothing changed") from None
    audit.record(db, actor=actor.username, action="active_pack_chosen", pack=key, name=chosen.name,
                 previous=pack.key)
    return chosen


def _unfinished_cases(db: Session, pack_key: str) -> dict[str, int]:
    """A process by its name -> how many of its cases under this pack are running or set aside."""
    return dict(db.execute(
        select(func.max(ProcessDefinition.name), func.count(Case.id))
        .join(ProcessDefinition, ProcessDefinition.id == Case.definition_id)
        .where(ProcessDefinition.pack == pack_key, Case.status.in_(UNFINISHED))
        .group_by(ProcessDefinition.process_id)).all())


def _listed(entries) -> str:
    return ", ".join(f"{e.key} ({e.name})" for e in entries) or "no pack"


# --- a new pack from a template ------------------------------------------------------------------

@dataclass
class Created:
    pack: Pack
    settings: PackSettingsVersion
    deployed: list[ProcessDefinition]
    template_read_from: str  # "its newest deployed versions" or "its folder"


def create(db: Session, *, pack: Pack, actor: Actor, key: str, name: str, template: str,
           change_note: str | None) -> Created:
    """A new pack `key` called `name`, copied from `template` and deployed as version 1 (see the
    module's words), as a process owner with a change note. Refused, in words and with nothing
    saved, for a key that is not one or is taken, a missing name or note, a template this install
    does not hold, or settings or diagrams the checks refuse (DefinitionRefused, naming each)."""
    policy_changes.require_owner(pack, actor)
    note = policy_changes.require_change_note(change_note)
    key, name, template = (key or "").strip(), " ".join((name or "").split()), (template or "").strip()
    _require_new_key(db, key)
    if not name:
        raise WorkflowError("give the new pack a name: what people read at the top of every page and in its "
                            "letters, e.g. \"Riverside Homes\". Nothing was deployed.")
    if len(name) > 200:
        raise WorkflowError(f"the name is {len(name)} characters; keep it to 200. Nothing was deployed.")
    source, files, read_from = _template(db, template)
    source = renamed(source, name)
    new_pack = pack_from_source(key, config.packs_dir() / key, source)
    deployment.check_files(files, new_pack, db)  # each against the new settings and the others
    try:
        settings = pack_versions.deploy(db, pack_key=key, source=source, deployed_by=actor.username,
                                        change_note=note)
    except IntegrityError:
        raise Conflict(f"someone else made a pack '{key}' at the same moment; nothing was deployed") from None
    deployed = [d for filename, content in files
                for d in deployment.deploy_file(db, pack=new_pack, content=content, filename=filename,
                                                deployed_by=actor.username, change_note=note, together=files)]
    audit.record(db, actor=actor.username, action="pack_created", pack=key, name=name, template=template,
                 template_read_from=read_from, change_note=note, settings_version=settings.version,
                 processes={d.process_id: d.version for d in deployed})
    return Created(new_pack, settings, deployed, read_from)


def _require_new_key(db: Session, key: str) -> None:
    if not KEY.fullmatch(key):
        raise WorkflowError(f"'{key}' cannot be a pack's key: use small letters, digits and _ (up to 40), "
                            f"starting with a letter, e.g. riverside_2027. Nothing was deployed.")
    taken = (config.packs_dir() / key).exists() \
        or db.scalar(select(PackSettingsVersion.id).where(PackSettingsVersion.pack == key).limit(1)) is not None \
        or deployment.is_installed(db, pack=key)
    if taken:
        raise WorkflowError(f"the key '{key}' is taken: this install already holds a pack '{key}' (in the database "
                            f"or as a folder); choose another. Nothing was deployed.")


def _template(db: Session, template: str) -> tuple[PackSource, list[tuple[str, bytes]], str]:
    """The template's settings and diagram files: a pack the database holds as deployed (what runs),
    else a pack folder as its files are."""
    known = packs(db)
    entry = next((e for e in known if e.key == template), None)
    if entry is None:
        raise WorkflowError(f"there is no pack '{template}' to copy; choose one of: {_listed(known)}. "
                            f"Nothing was deployed.")
    if entry.settings_version is not None:
        source = pack_versions.source_of(pack_versions.newest(db, pack=template))
        files, read_from = policy_changes.deployed_files(db, pack_key=template), "its newest deployed versions"
    else:
        _, source = read_pack_files(template, config.packs_dir())
        files, read_from = deployment.pack_files(load_pack(template, config.packs_dir())), "its folder"
    if not files:
        raise WorkflowError(f"the {entry.name} pack ({template}) has no diagrams to copy. Nothing was deployed.")
    return source, files, read_from
