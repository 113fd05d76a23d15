"""The backup archive on its own: taken while the service runs (discards held until it
is written), restored with every spool file checked against its manifest."""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from server.backup import archive
from stanzas import client_ops as c
from tests.handlers.conftest import DEVICE, create_job, register
from tests.handlers.stream import ALICE, MGR1, Stream

PDF = b"%PDF-1.4 backed up\n" * 30


async def printed_job(stream: Stream) -> int:
    await register(stream, MGR1, DEVICE, "office")
    answer, _ = await stream.iq(
        ALICE,
        c.PrintJob(printer_name="office", document_format="application/pdf", document_data=PDF),
    )
    return c.PrintJobResponse.from_xml(answer[0]).job.job_id


async def test_a_backup_holds_the_database_and_the_documents_data(
    stream: Stream, tmp_path: Path
) -> None:
    job_id = await printed_job(stream)
    await create_job(stream, ALICE, "office")
    ctx = stream.ctx
    taken = await archive.take(ctx.settings.database, ctx.spool, tmp_path / "b.tar")
    assert (taken.jobs, taken.documents) == (2, 1)
    with tarfile.open(taken.path) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile(archive.MANIFEST))  # type: ignore[arg-type]
    (entry,) = manifest["spool"]
    assert (entry["job_id"], entry["size"]) == (job_id, len(PDF))
    assert names == [archive.MANIFEST, archive.DATABASE, f"spool/{entry['spool_name']}"]
    with pytest.raises(FileExistsError):
        await archive.take(ctx.settings.database, ctx.spool, tmp_path / "b.tar")

    fresh = tmp_path / "fresh"
    (fresh / "service.db-wal").parent.mkdir()
    (fresh / "service.db-wal").write_bytes(b"a stale log of some other database")
    archive.restore(taken.path, fresh / "service.db", fresh / "spool")
    assert not (fresh / "service.db-wal").exists()
    assert (fresh / "spool" / entry["spool_name"]).read_bytes() == PDF
    db = sqlite3.connect(fresh / "service.db")
    assert db.execute("SELECT COUNT(*) FROM jobs").fetchone() == (2,)
    db.close()


async def test_discards_wait_for_the_backup(stream: Stream) -> None:
    job_id = await printed_job(stream)
    document = await stream.ctx.documents.get(job_id, 1)
    assert document is not None and document.spool_name
    spool = stream.ctx.spool
    with spool.discards_held():
        spool.discard(document.spool_name)
        assert spool.path(document.spool_name).exists()
    assert not spool.path(document.spool_name).exists()


def _tampered(source: Path, target: Path) -> None:
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = old.extractfile(member)
            assert data is not None
            content = data.read()
            if member.name.startswith("spool/"):
                content = content.replace(b"backed up", b"tampered!")
            member.size = len(content)
            new.addfile(member, io.BytesIO(content))


async def test_a_damaged_archive_restores_nothing(stream: Stream, tmp_path: Path) -> None:
    await printed_job(stream)
    ctx = stream.ctx
    taken = await archive.take(ctx.settings.database, ctx.spool, tmp_path / "b.tar")
    _tampered(taken.path, tmp_path / "bad.tar")
    with pytest.raises(archive.RestoreError, match="does not match its manifest"):
        archive.restore(tmp_path / "bad.tar", tmp_path / "x" / "service.db", tmp_path / "x" / "s")
    assert not (tmp_path / "x" / "service.db").exists()
    not_ours = tmp_path / "other.tar"
    with tarfile.open(not_ours, "w") as tar:
        tar.addfile(tarfile.TarInfo("readme"), io.BytesIO(b""))
    with pytest.raises(archive.RestoreError, match="not a Cirrus backup"):
        archive.restore(not_ours, tmp_path / "y" / "service.db", tmp_path / "y" / "s")
