"""pack.toml and the letter templates as versions in the database, like the diagrams: the newest
version is what the web, the command line and the workers run (built once per version, so a deploy
reaches every process at its next request or task, without a restart); each version says who
deployed it, when, and why (its change note). What changed between two versions is spelled out
setting by setting, and line by line for a letter.

What a new settings version changes for cases already running: every step from then on reads the
new settings (roles, seniority, who may read, reminders, letters issued from then on), but what a
case has already worked out stays: a review already scheduled keeps its due date (its timer was set
under the settings of its day: `review_from_due_date`), a letter already issued keeps its text, a
review case keeps the `review_carries` it started with. A new case uses the new version throughout.
"""
import difflib
import tomllib
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from workflows.compliance import audit
from workflows.platform import clock
from workflows.platform.models import PackSettingsVersion
from workflows.definitions.pack import Pack, PackSource, pack_from_source

# asked at every request, command and task: which pack is active (the row `pack use` wrote, else
# ALERTFLOW_PACK) and its newest settings version, in one plain statement built once (an ORM select
# built each time cost more than the query; benchmarks/pack_settings.py)
_ACTIVE = text("SELECT chosen.pack, v.id, v.content_hash "
               "FROM (SELECT COALESCE((SELECT pack FROM active_pack WHERE id = 1), :default) AS pack) chosen "
               "LEFT JOIN pack_settings_version v ON v.pack = chosen.pack ORDER BY v.version DESC LIMIT 1")
# a database not migrated to 0028a yet has no choice of pack: ALERTFLOW_PACK's newest settings
_NEWEST = text("SELECT id, content_hash FROM pack_settings_version WHERE pack = :pack ORDER BY version DESC LIMIT 1")
_built: dict[tuple, Pack] = {}  # (pack, version id, content hash, pack folder) -> the Pack built from it


def source_of(version: PackSettingsVersion) -> PackSource:
    return PackSource(version.pack_toml, dict(version.letters or {}))


def newest(db: Session, *, pack: str) -> PackSettingsVersion | None:
    return db.scalar(select(PackSettingsVersion).where(PackSettingsVersion.pack == pack)
                     .order_by(PackSettingsVersion.version.desc()).limit(1))


def version(db: Session, *, pack: str, number: int) -> PackSettingsVersion | None:
    return db.scalar(select(PackSettingsVersion).where(PackSettingsVersion.pack == pack,
                                                       PackSettingsVersion.version == number))


def all_versions(db: Session, *, pack: str) -> list[PackSettingsVersion]:
    """Newest first."""
    return list(db.scalars(select(PackSettingsVersion).where(PackSettingsVersion.pack == pack)
                           .order_by(PackSettingsVersion.version.desc())))


def built(version: PackSettingsVersion, directory: Path) -> Pack:
    """The Pack a deployed version describes, built once per version (it was checked when deployed)."""
    key = (version.pack, version.id, version.content_hash, str(directory))
    if key not in _built:
        _built[key] = pack_from_source(version.pack, directory, source_of(version))
    return _built[key]


def _active_row():
    """(the active pack's key, the id and content hash of its newest settings version or None)."""
    from workflows.platform import config, db as database
    key, url = config.pack_name(), config.database_url()  # ALERTFLOW_PACK: the default while none is chosen
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return key, None, None  # never make an empty database file just to find nothing in it
    try:
        with database.get_engine().connect() as conn:
            try:
                return tuple(conn.execute(_ACTIVE, {"default": key}).one())
            except SQLAlchemyError as err:
                if not _missing(err, "active_pack"):
                    raise
                conn.rollback()
                row = conn.execute(_NEWEST, {"pack": key}).first()
                return (key, row.id, row.content_hash) if row else (key, None, None)
    except SQLAlchemyError as err:
        if _missing(err, "pack_settings_version"):  # not migrated to 0019 yet: the pack's folder is all there is
            return key, None, None
        raise  # a database that cannot be reached: never run on the files' settings instead of the deployed


def _missing(err: SQLAlchemyError, table: str) -> bool:
    """Whether the database said it has no such table (SQLite: "no such table: x"; PostgreSQL:
    'relation "x" does not exist'), read from its own first line, not the statement quoted after."""
    said = str(getattr(err, "orig", None) or err).splitlines()[0] if str(err) else ""
    return table in said and ("no such table" in said or "does not exist" in said)


def active_key() -> str:
    """The key of the pack this install runs: the one a process owner made active (`pack use`, the
    packs page), or ALERTFLOW_PACK while the database names none. Asked afresh each time (one small
    query), so a change reaches every process at its next request, command or task."""
    return _active_row()[0]


def active(packs_dir: Path) -> tuple[str, Pack | None]:
    """The active pack's key and its newest deployed settings, or None while none is deployed (or
    there is no database to ask: `pack check` on a laptop). One small query per call; the Pack is
    built once per version."""
    key, version_id, content_hash = _active_row()
    if version_id is None:
        return key, None
    cached = _built.get((key, version_id, content_hash, str(packs_dir / key)))
    if cached is not None:
        return key, cached
    from workflows.platform import db as database
    with database.transaction() as db:
        return key, built(db.get(PackSettingsVersion, version_id), packs_dir / key)


def deploy(db: Session, *, pack_key: str, source: PackSource, deployed_by: str, change_note: str,
           from_pack_files: bool = False) -> PackSettingsVersion | None:
    """A new settings version, if it differs from the newest (None: nothing to deploy). The caller
    has checked it (policy_changes.check_settings) and owns the transaction."""
    current = newest(db, pack=pack_key)
    if current is not None and current.content_hash == source.content_hash:
        return None
    deployed = PackSettingsVersion(
        pack=pack_key, version=(current.version + 1 if current else 1), pack_toml=source.pack_toml,
        letters=dict(source.letters), content_hash=source.content_hash, deployed_by=deployed_by,
        deployed_at=clock.now(), change_note=change_note, in_pack_files=from_pack_files)
    db.add(deployed)
    db.flush()
    audit.record(db, actor=deployed_by, action="pack_settings_deployed", pack=pack_key, version=deployed.version,
                 change_note=change_note, source="the pack's files" if from_pack_files else "the web",
                 changes=describe_changes(source_of(current) if current else None, source))
    return deployed


def describe_changes(old: PackSource | None, new: PackSource) -> list[str]:
    """What changed, as a process owner reads it: each pack.toml setting added, removed or changed
    (`changed [pack] review_from_due_date: true -> false`), then each letter's lines."""
    if old is None:
        return ["first version"]
    lines = []
    before, after = _settings(old.pack_toml), _settings(new.pack_toml)
    for name in sorted(before.keys() | after.keys()):
        if name not in before:
            lines.append(f"added {name} = {after[name]}")
        elif name not in after:
            lines.append(f"removed {name} (was {before[name]})")
        elif before[name] != after[name]:
            lines.append(f"changed {name}: {before[name]} -> {after[name]}")
    for name in sorted(old.letters.keys() | new.letters.keys()):
        was, now = old.letters.get(name), new.letters.get(name)
        if was is None:
            lines.append(f"added letter template {name}")
        elif now is None:
            lines.append(f"removed letter template {name}")
        elif was != now:
            lines.append(f"changed letter template {name}:")
            lines += [f"  {line}" for line in difflib.unified_diff(
                was.splitlines(), now.splitlines(), lineterm="", n=0) if not line.startswith(("---", "+++", "@@"))]
    return lines


def _settings(text: str) -> dict[str, str]:
    """pack.toml flattened to '[section] key' -> its value as written in TOML."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}
    flat = {}

    def walk(table, where):
        tables_only = all(isinstance(v, dict) for v in table.values())  # [roles.x], [letters.y], ...
        for key, value in table.items():
            if isinstance(value, dict) and (not where or tables_only):
                walk(value, f"{where}.{key}" if where else key)
            else:
                flat[f"[{where}] {key}"] = _toml_value(value)
    walk(raw, "")
    return flat


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return str(value)
