"""The backup archive: one tar file with the database, a manifest of the spool, and the
spool files the manifest names.

    cirrus-backup.json   what this is: format, time, store, counts, and the manifest
                         (which spool file holds which document, its size and SHA-256)
    service.db           a consistent copy of the SQLite database (its backup API)
    spool/NAME           the data of every document that still has data

Taken online (`take`, by the Backup operation): the database is copied through SQLite's
backup API from a connection of its own, in one step, so from one read transaction of
the WAL: a snapshot as of one COMMIT while the service goes on writing. Meanwhile the
spool keeps every file (Spool.discards_held): the files the snapshot names are all
there to be copied. The archive is written under a temporary name, fsynced, and renamed.

Restored offline (`restore`, `python -m server --config … --restore ARCHIVE`) into a
state directory without a database: the database and the spool files in place, each
file checked against the manifest's size and SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from server.documents.spool import Spool

FORMAT = "cirrus-backup/1"
MANIFEST = "cirrus-backup.json"
DATABASE = "service.db"


@dataclass(frozen=True)
class Taken:
    path: Path
    size: int
    jobs: int
    documents: int


class RestoreError(Exception):
    """The archive cannot be restored here; the text says why."""


def _snapshot(database: Path, target: Path) -> None:
    """SQLite's online backup, in one step (one read transaction: one consistent state)."""
    source = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()


def _manifest(snapshot: Path) -> tuple[int, list[dict[str, Any]], int]:
    db = sqlite3.connect(snapshot)
    try:
        jobs = db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
        version = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        rows = db.execute(
            "SELECT job_id, document_number, spool_name, document_size, document_digest"
            " FROM documents WHERE spool_name IS NOT NULL ORDER BY job_id, document_number"
        ).fetchall()
    finally:
        db.close()
    files = [
        {"job_id": j, "document_number": n, "spool_name": name, "size": size, "sha256": digest}
        for j, n, name, size, digest in rows
    ]
    return int(jobs), files, int(version or 0)


def _write(database: Path, spool: Spool, target: Path, created: float) -> Taken:
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".backup-") as work:
        snapshot = Path(work) / DATABASE
        _snapshot(database, snapshot)
        jobs, files, version = _manifest(snapshot)
        partial = Path(work) / "archive.tar"
        with tarfile.open(partial, "w") as tar:
            present = []
            for entry in files:
                source = spool.path(entry["spool_name"])
                if source.exists():
                    present.append(entry)
            manifest = {
                "format": FORMAT,
                "created": created,
                "store": "sqlite",
                "schema_version": version,
                "jobs": jobs,
                "spool": present,
                # Named in the snapshot, gone from the spool (removed by hand?).
                "missing": [e for e in files if e not in present],
            }
            data = json.dumps(manifest, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime = len(data), int(created)
            tar.addfile(info, io.BytesIO(data))
            tar.add(snapshot, arcname=DATABASE)
            for entry in present:
                tar.add(spool.path(entry["spool_name"]), arcname=f"spool/{entry['spool_name']}")
        with partial.open("rb+") as f:
            os.fsync(f.fileno())
        os.chmod(partial, 0o600)  # user names, job names and document data
        # A link fails if the name exists: two backups to one name cannot both win.
        os.link(partial, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return Taken(target, target.stat().st_size, jobs, len(present))


async def take(database: Path, spool: Spool, target: Path) -> Taken:
    """Back the service up into `target` (which must not exist) while it runs."""
    if target.exists():
        raise FileExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with spool.discards_held():
        try:
            return await asyncio.to_thread(_write, database, spool, target, time.time())
        except FileExistsError:
            raise FileExistsError(target) from None


def restore(archive: Path, database: Path, spool_dir: Path) -> dict[str, Any]:
    """Put the archive's database and spool files in place (the service not running,
    no database there yet); returns the manifest."""
    if database.exists():
        raise RestoreError(f"{database} exists: restore into a fresh state directory")
    for stale in (
        database.with_name(database.name + "-wal"),
        database.with_name(database.name + "-shm"),
    ):
        # Left by a database that is gone: SQLite would replay it into the restored one.
        stale.unlink(missing_ok=True)
    with tarfile.open(archive, "r") as tar:
        try:
            manifest: dict[str, Any] = json.load(_member(tar, MANIFEST))
        except RestoreError:
            raise RestoreError(f"{archive} is not a Cirrus backup (no {MANIFEST})") from None
        if manifest.get("format") != FORMAT:
            raise RestoreError(f"unknown backup format {manifest.get('format')!r}")
        spool_dir.mkdir(parents=True, exist_ok=True)
        for entry in manifest["spool"]:
            name = entry["spool_name"]
            if "/" in name or name.startswith("."):
                raise RestoreError(f"bad spool name {name!r} in the manifest")
            _put(_member(tar, f"spool/{name}"), spool_dir / name, entry)
        db = _member(tar, DATABASE)
        database.parent.mkdir(parents=True, exist_ok=True)
        partial = database.with_name(database.name + ".restoring")
        with partial.open("wb") as out:
            while chunk := db.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        os.rename(partial, database)
    return manifest


def _member(tar: tarfile.TarFile, name: str) -> IO[bytes]:
    try:
        data = tar.extractfile(name)
    except KeyError:
        data = None
    if data is None:
        raise RestoreError(f"the archive lacks {name}")
    return data


def _put(data: Any, path: Path, entry: dict[str, Any]) -> None:
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as out:
        while chunk := data.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
        path.unlink()
        raise RestoreError(f"spool/{path.name} does not match its manifest entry")
