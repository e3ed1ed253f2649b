"""Load many documents into the knowledge base: in parallel, cached by content hash, replaced atomically.

A load works on a copy of the database in a temporary file next to it and replaces the real
file at the end; a failure before that leaves the old file untouched. One document that cannot
be read is reported and the others load (unless `strict`); an unchanged file is not read again.
"""

from __future__ import annotations

import fcntl
import glob
import json
import logging
import os
import shutil
import sqlite3
import tempfile
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from db.errors import LoadError
from db.load import (
    SCHEMA_VERSION, SOURCE_SUFFIXES, Parsed, content_hash, create_schema, parse_document, source_files, write_document,
)

log = logging.getLogger("budgetbot.ingest")


@dataclass
class Outcome:
    """What happened to one file: loaded, unchanged (same content already loaded), duplicate or failed."""

    path: Path
    status: str
    error: str | None = None
    department: str = ""
    year: int | None = None
    kind: str = ""
    family: str = ""
    tables: int = 0
    facts: int = 0
    narrative_only: bool = False
    skipped: list[tuple[str, int, str]] = field(default_factory=list)


@dataclass
class Report:
    outcomes: list[Outcome]

    def of(self, status: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == status]


def collect(paths: list[Path]) -> list[Path]:
    """The source files named, folders searched recursively (sorted; sidecar .toml files are not sources)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES))
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def _digest(path: Path) -> str | None:
    try:
        return content_hash(path)
    except (OSError, LoadError):
        return None


def _parse(path: Path) -> tuple[Path, Parsed | None, tuple[int | None, str] | None]:
    """Parse in a worker process; an error comes back as (line, message)."""
    try:
        return path, parse_document(path), None
    except LoadError as error:
        return path, None, (error.line, error.message)
    except OSError as error:
        return path, None, (None, f"无法读取文件（{error.strerror or error}）")
    except Exception as error:  # a reader's own failure on one odd file must not stop the folder
        return path, None, (None, f"读取时出错（{type(error).__name__}），已跳过这份文件")


def _parsed_outcome(parsed: Parsed) -> Outcome:
    doc = parsed.doc
    return Outcome(
        parsed.path, "loaded", department=doc.department, year=doc.year, kind=doc.kind, family=doc.family,
        tables=len(doc.tables), facts=sum(len(r.facts) for _, rows in parsed.grids for r in rows),
        narrative_only=not doc.tables, skipped=list(doc.skipped),
    )


def _parsed_stream(paths: list[Path], workers: int | None, progress: bool):
    bar = tqdm(total=len(paths), unit="份", desc="读取", disable=not progress, leave=False)
    try:
        workers = min(workers or os.cpu_count() or 1, len(paths))
        if workers <= 1:
            for path in paths:
                yield _parse(path)
                bar.update()
            return
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for result in pool.map(_parse, paths, chunksize=1):
                yield result
                bar.update()
    finally:
        bar.close()


def ingest(db_path: Path, paths: list[Path], *, replace_all: bool = False, strict: bool = False,
           origin: str = "user", workers: int | None = None, progress: bool = False) -> Report:
    """Load `paths` (files or folders) into the database at `db_path`; returns what happened to each file.

    With `replace_all` the database is rebuilt from these documents alone; a user's first load that
    loads anything replaces the bundled sample. With `strict` any failed document or skipped table
    raises LoadError and the database is left as it was; a load where nothing loads leaves it too."""
    files = collect(paths)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(db_path):  # what is loaded is read under the lock, so two loads never undo each other
        _remove_leftovers(db_path)
        fresh = replace_all or not current_schema(db_path) or (origin == "user" and not has_user_documents(db_path))
        outcomes, todo = _unchanged(db_path, files, {} if fresh else _loaded(db_path), strict)
        _load_into(db_path, todo, outcomes, fresh, replace_all, strict, origin, workers, progress)
    return Report([outcomes[p] for p in files])


def _unchanged(db_path: Path, files: list[Path], loaded: dict, strict: bool) -> tuple[dict[Path, Outcome], list[Path]]:
    """Files whose content (and sidecar) is already loaded, as outcomes; the rest to read."""
    outcomes: dict[Path, Outcome] = {}
    todo = []
    for path in files:
        sha, skipped = loaded.get(path.name, (None, "[]"))
        if sha is not None and sha == _digest(path):
            outcomes[path] = Outcome(path, "unchanged", skipped=[tuple(s) for s in json.loads(skipped)])
            if strict and outcomes[path].skipped:
                title, line, reason = outcomes[path].skipped[0]
                raise LoadError(path, line, f"“{title}”无法读取：{reason}")
        else:
            todo.append(path)
    return outcomes, todo


@contextmanager
def _locked(db_path: Path):
    """One load at a time per database: a second waits for the first to finish."""
    with open(db_path.with_name(db_path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_leftovers(db_path: Path) -> None:
    """Temporary copies (and their journals) of loads that were killed; only called under the lock."""
    for leftover in db_path.parent.glob(f"{glob.escape(db_path.name)}.*.tmp*"):
        leftover.unlink(missing_ok=True)


def _load_into(db_path: Path, todo: list[Path], outcomes: dict[Path, Outcome], fresh: bool, replace_all: bool,
               strict: bool, origin: str, workers, progress: bool) -> None:
    """Parse `todo` and write it into a copy of the database, then put the copy in its place."""
    fd, tmp_name = tempfile.mkstemp(prefix=db_path.name + ".", suffix=".tmp", dir=db_path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if fresh:
            tmp.unlink()
        else:
            shutil.copyfile(db_path, tmp)
        conn = sqlite3.connect(tmp)
        try:
            if fresh:
                create_schema(conn)
            with conn:
                _write_all(conn, todo, outcomes, origin, workers, progress, strict)
        finally:
            conn.close()
        if replace_all or any(o.status == "loaded" for o in outcomes.values()):  # a failed load leaves the file as it was
            os.chmod(tmp, db_path.stat().st_mode & 0o777 if db_path.exists() else 0o666 & ~_umask())
            os.replace(tmp, db_path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_all(conn, todo: list[Path], outcomes: dict[Path, Outcome], origin: str, workers, progress: bool, strict: bool) -> None:
    seen: dict[tuple, Path] = {}
    for path, parsed, error in _parsed_stream(todo, workers, progress):
        if parsed is None:
            if strict:
                raise LoadError(path, *error)
            outcomes[path] = Outcome(path, "failed", error=str(LoadError(path, *error)))
            continue
        if strict and parsed.doc.skipped:
            title, line, reason = parsed.doc.skipped[0]
            raise LoadError(path, line, f"“{title}”无法读取：{reason}")
        key = (parsed.doc.department, parsed.doc.year, parsed.doc.kind)
        outcome = _parsed_outcome(parsed)
        if key in seen:
            previous = outcomes[seen[key]]
            previous.status, previous.error = "duplicate", f"与 {path.name} 是同一部门同一年度的文件，以后者为准"
        seen[key] = path
        write_document(conn, parsed, origin)
        outcomes[path] = outcome


def _read(db_path: Path, sql: str):
    if not db_path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
                return None
            return conn.execute(sql).fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None


def current_schema(db_path: Path) -> bool:
    return _read(db_path, "SELECT 1") is not None


def has_user_documents(db_path: Path) -> bool:
    return bool(_read(db_path, "SELECT 1 FROM documents WHERE origin = 'user' LIMIT 1"))


def _loaded(db_path: Path) -> dict[str, tuple[str, str]]:
    """Loaded documents by file name: (sha256, skipped tables as JSON)."""
    return {name: (sha, skipped) for name, sha, skipped in _read(db_path, "SELECT source_file, sha256, skipped FROM documents") or []}


def _any_schema_files(db_path: Path) -> set[str] | None:
    """File names of the documents in a database of any schema version; None when there is none."""
    if not db_path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            return {r[0] for r in conn.execute("SELECT source_file FROM documents")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None


def ensure_database(db_path: Path, sources_dir: Path) -> Path:
    """The bundled sources are the embedded default: built on first use or when one changed,
    and never mixed into (or over) documents the user loaded. A database of an older version
    holding the user's documents is left alone and reported: it must be loaded again.
    When the sources cannot be read or loaded but a database already holds documents, that
    database keeps serving and one warning line says why."""
    if has_user_documents(db_path):
        return db_path
    try:
        sources = source_files(sources_dir)
    except OSError as error:
        return _keep_serving(db_path, LoadError(sources_dir, None, f"无法读取资料文件夹（{error.strerror or error}）"))
    files = _any_schema_files(db_path)
    if files and not current_schema(db_path) and not files <= {p.name for p in sources}:
        raise LoadError(db_path, None, "数据库是旧版本程序建的，里面有你加载的文件；请重新运行 budgetbot ingest 加载它们（原文件未改动）")
    loaded = _loaded(db_path)
    if not current_schema(db_path) or set(loaded) != {p.name for p in sources} or any(
            loaded[p.name][0] != _digest(p) for p in sources):
        try:
            if not sources:
                raise LoadError(sources_dir, None, "资料文件夹里没有可加载的文件")
            ingest(db_path, sources, replace_all=True, strict=True, origin="bundled", workers=1)
        except (LoadError, OSError) as error:
            return _keep_serving(db_path, error)
    return db_path


def _keep_serving(db_path: Path, error: Exception) -> Path:
    """The database as it is, when it holds documents; else the error (nothing could be served)."""
    if not _loaded(db_path):
        raise error if isinstance(error, LoadError) else LoadError(db_path, None, _os_message(error))
    text = error if isinstance(error, LoadError) else _os_message(error)
    log.warning("资料未能重新加载（%s）；继续使用现有数据库 %s", text, db_path)
    return db_path


def _os_message(error: OSError) -> str:
    where = f" {error.filename}" if error.filename else ""
    return f"无法写入{where}（{error.strerror or error}）"
