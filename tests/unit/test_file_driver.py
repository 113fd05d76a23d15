"""FileDriver: one file per document in a folder, state kept across restarts."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from manager.download import SpooledDocument
from manager.drivers import file as file_driver
from manager.drivers.base import DeviceJobTicket, DeviceRejected, DeviceUnreachable
from manager.drivers.file import FileDriver, safe_file_name

TICKET = DeviceJobTicket(job_name="report", requesting_user_name="ann")


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


async def test_documents_are_written_and_the_job_completes(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path / "out")
    await driver.start()
    assert (await driver.get_status()).printer_state == "idle"
    job_id = await driver.create_job(TICKET)
    assert job_id == 1
    status = await driver.get_job(job_id)
    assert status is not None and status.job_state == "pending"
    await driver.send_document(job_id, chunks(b"%PDF", b"-one"), "application/pdf", "a.pdf", False)
    status = await driver.get_job(job_id)
    assert status is not None and status.job_state == "pending"  # more documents coming
    await driver.send_document(job_id, chunks(b"two"), "text/plain", "b.txt", True)
    status = await driver.get_job(job_id)
    assert status is not None and status.job_state == "completed"
    assert status.job_impressions_completed == 2
    out = tmp_path / "out"
    assert visible(out) == ["1-a.pdf", "1-b.txt"]
    assert (out / "1-a.pdf").read_bytes() == b"%PDF-one"
    assert (out / "1-b.txt").read_bytes() == b"two"
    assert driver.output_files(job_id) == [out / "1-a.pdf", out / "1-b.txt"]


async def test_large_document_is_streamed(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path)
    job_id = await driver.create_job(TICKET)
    block = bytes(range(256)) * 256  # 64 KiB

    async def big() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield block

    await driver.send_document(job_id, big(), "application/pdf", "big.pdf", True)
    assert (tmp_path / "1-big.pdf").stat().st_size == 40 * len(block)


async def test_ids_survive_a_restart(tmp_path: Path) -> None:
    first = FileDriver(tmp_path)
    done = await first.create_job(TICKET)
    await first.send_document(done, chunks(b"x"), "application/pdf", "a.pdf", True)
    empty = await first.create_job(TICKET)  # created, no document yet
    again = FileDriver(tmp_path)  # the manager restarts
    await again.start()
    new = await again.create_job(TICKET)
    assert new == empty + 1 > done
    restored = await again.get_job(done)
    assert restored is not None and restored.job_state == "completed"
    waiting = await again.get_job(empty)
    assert waiting is not None and waiting.job_state == "pending"
    await again.send_document(empty, chunks(b"late"), "application/pdf", "b.pdf", True)
    assert (tmp_path / f"{empty}-b.pdf").read_bytes() == b"late"
    assert await again.get_job(12345) is None


async def test_next_id_from_document_files_alone(tmp_path: Path) -> None:
    (tmp_path / "41-old.pdf").write_bytes(b"old")
    driver = FileDriver(tmp_path)
    assert await driver.create_job(TICKET) == 42


async def test_cancel(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path)
    job_id = await driver.create_job(TICKET)
    await driver.cancel_job(job_id)
    status = await driver.get_job(job_id)
    assert status is not None and status.job_state == "canceled"
    with pytest.raises(DeviceRejected) as info:
        await driver.send_document(job_id, chunks(b"x"), "application/pdf", "a.pdf", True)
    assert info.value.status == "client-error-not-possible"
    await driver.cancel_job(job_id)  # terminal: ignored
    await driver.cancel_job(999)  # unknown: ignored
    assert visible(tmp_path) == []


async def test_cancel_while_writing(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path)
    job_id = await driver.create_job(TICKET)
    gate = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"first"
        await gate.wait()
        yield b"second"

    sending = asyncio.create_task(
        driver.send_document(job_id, slow(), "application/pdf", "a.pdf", True)
    )
    async with asyncio.timeout(5):
        while (await driver.get_job(job_id)).job_state != "processing":  # type: ignore[union-attr]
            await driver.wait_for_change(1)
    await driver.cancel_job(job_id)
    gate.set()
    with pytest.raises(DeviceRejected):
        await sending
    assert visible(tmp_path) == []
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    assert (await driver.get_job(job_id)).job_state == "canceled"  # type: ignore[union-attr]


async def test_names_are_made_safe_and_unique(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path)
    job_id = await driver.create_job(TICKET)
    for name in ("../../etc/passwd", "same.pdf", "same.pdf", "", ".hidden"):
        await driver.send_document(job_id, chunks(b"x"), "application/pdf", name, False)
    assert visible(tmp_path) == [
        "1-_.._etc_passwd",
        "1-document",
        "1-hidden",
        "1-same-2.pdf",
        "1-same.pdf",
    ]
    assert [p.parent for p in driver.output_files(job_id)] == [tmp_path] * 5
    assert safe_file_name("a" * 300 + ".pdf").endswith(".pdf")
    assert len(safe_file_name("a" * 300 + ".pdf")) <= 150


async def test_unknown_job_rejected(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path)
    with pytest.raises(DeviceRejected) as info:
        await driver.send_document(7, chunks(b"x"), "application/pdf", "a.pdf", True)
    assert info.value.status == "client-error-not-found"


async def test_unusable_folder_is_unreachable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    driver = FileDriver(blocker / "sub")
    with pytest.raises(DeviceUnreachable):
        await driver.get_status()
    with pytest.raises(DeviceUnreachable):
        await driver.create_job(TICKET)


async def test_wait_for_change_wakes_on_completion(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path)
    job_id = await driver.create_job(TICKET)
    await driver.get_job(job_id)
    waiter = asyncio.create_task(driver.wait_for_change(30))
    await asyncio.sleep(0)
    await driver.send_document(job_id, chunks(b"x"), "application/pdf", "a.pdf", True)
    await asyncio.wait_for(waiter, 1)
    caps = await driver.get_capabilities()
    assert "application/pdf" in caps.document_format_supported


class Spooled:
    """A whole-file document source, as manager/download.py hands the driver."""

    def __init__(self, path: Path) -> None:
        self.document_file = path
        self.read = False

    def __aiter__(self) -> Spooled:
        return self

    async def __anext__(self) -> bytes:
        if self.read:
            raise StopAsyncIteration
        self.read = True
        return self.document_file.read_bytes()


@pytest.fixture
def spooled(tmp_path: Path) -> Spooled:
    (tmp_path / "spool").mkdir()
    path = tmp_path / "spool" / "7-1"
    path.write_bytes(bytes(range(256)) * 4096)
    return Spooled(path)


async def test_a_whole_file_is_linked_on_the_same_file_system(
    tmp_path: Path, spooled: Spooled
) -> None:
    driver = FileDriver(tmp_path / "out")
    job_id = await driver.create_job(TICKET)
    await driver.send_document(job_id, spooled, "application/pdf", "a.pdf", True)
    out = tmp_path / "out" / "1-a.pdf"
    assert out.read_bytes() == spooled.document_file.read_bytes()
    assert out.stat().st_ino == spooled.document_file.stat().st_ino  # no copy at all
    assert not spooled.read
    spooled.document_file.unlink()  # the manager lets go of its name: the document stays
    assert out.stat().st_size == 256 * 4096


async def test_a_whole_file_is_copied_in_the_kernel_across_file_systems(
    tmp_path: Path, spooled: Spooled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_driver, "_link", lambda source, part: False)  # as across mounts
    monkeypatch.setattr(file_driver, "_COPY_STEP", 100_000)  # several steps
    driver = FileDriver(tmp_path / "out")
    job_id = await driver.create_job(TICKET)
    await driver.send_document(job_id, spooled, "application/pdf", "a.pdf", True)
    out = tmp_path / "out" / "1-a.pdf"
    assert out.read_bytes() == spooled.document_file.read_bytes()
    assert out.stat().st_ino != spooled.document_file.stat().st_ino
    assert not spooled.read
    assert (await driver.get_job(job_id)).job_state == "completed"  # type: ignore[union-attr]


async def test_without_sendfile_a_whole_file_is_streamed(
    tmp_path: Path, spooled: Spooled, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sendfile(*args: object) -> int:
        raise OSError(errno.EINVAL, "not between these files")

    monkeypatch.setattr(file_driver, "_link", lambda source, part: False)
    monkeypatch.setattr(file_driver.os, "sendfile", no_sendfile)
    driver = FileDriver(tmp_path / "out")
    job_id = await driver.create_job(TICKET)
    await driver.send_document(job_id, spooled, "application/pdf", "a.pdf", True)
    assert (tmp_path / "out" / "1-a.pdf").read_bytes() == spooled.document_file.read_bytes()
    assert spooled.read


async def test_cancel_while_copying_a_whole_file(
    tmp_path: Path, spooled: Spooled, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(file_driver, "_link", lambda source, part: False)
    monkeypatch.setattr(file_driver, "_COPY_STEP", 4096)
    driver = FileDriver(tmp_path / "out")
    job_id = await driver.create_job(TICKET)
    real_step = file_driver._Copy.step

    def step(copy: file_driver._Copy) -> bool:
        if copy.copied >= 8192:  # the job is canceled after the second step
            driver._jobs[job_id].state = "canceled"
        return real_step(copy)

    monkeypatch.setattr(file_driver._Copy, "step", step)
    with pytest.raises(DeviceRejected):
        await driver.send_document(job_id, spooled, "application/pdf", "a.pdf", True)
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / ".cirrus-jobs"]
    assert spooled.document_file.exists()  # the manager's file is the manager's to remove


async def test_a_document_fetched_into_the_staging_folder_is_taken_without_a_copy(
    tmp_path: Path,
) -> None:
    driver = FileDriver(tmp_path / "out")
    await driver.start()
    assert driver.staging_dir is not None
    assert driver.staging_dir.is_relative_to(tmp_path / "out" / ".cirrus-jobs")
    fetched = driver.staging_dir / "7-1"
    fetched.write_bytes(b"%PDF-1.7 big enough to spool")
    job_id = await driver.create_job(TICKET)
    await driver.send_document(job_id, SpooledDocument(fetched), "application/pdf", "a.pdf", True)
    (output,) = driver.output_files(job_id)
    assert output.read_bytes() == b"%PDF-1.7 big enough to spool"
    assert output.stat().st_ino == fetched.stat().st_ino  # a hard link: no byte copied
    assert visible(tmp_path / "out") == [output.name]  # staging is not output


async def test_leftovers_in_the_staging_folder_go_at_start(tmp_path: Path) -> None:
    first = FileDriver(tmp_path / "out")
    await first.start()
    assert first.staging_dir is not None
    (first.staging_dir / "3-1").write_bytes(b"cut off by a crash")
    again = FileDriver(tmp_path / "out")
    await again.start()
    assert again.staging_dir is not None and list(again.staging_dir.iterdir()) == []


_SEND_ONE = """
import asyncio, sys
from manager.drivers.base import DeviceJobTicket
from manager.drivers.file import FileDriver

async def main() -> None:
    driver = FileDriver(sys.argv[1])
    await driver.start()
    job_id = await driver.create_job(DeviceJobTicket(job_name="r", requesting_user_name="ann"))
    async def body():
        yield b"%PDF-whole document"
    await driver.send_document(job_id, body(), "application/pdf", "a.pdf", True)

asyncio.run(main())
"""


async def test_a_crash_while_a_document_is_put_in_place_leaves_state_and_folder_agreeing(
    tmp_path: Path,
) -> None:
    """Issue 11, defect 4: killed between recording a document and putting it in place,
    the driver must not say "pending" for a document that is in the folder (the manager
    would report it aborted, or send it again); read back, the job is completed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SEND_ONE,
        str(tmp_path),
        env={**os.environ, "CIRRUS_MANAGER_CRASH_AT": "mid-file-document"},
    )
    assert await asyncio.wait_for(process.wait(), 30) == -signal.SIGKILL

    again = FileDriver(tmp_path)  # the manager restarts
    await again.start()
    status = await again.get_job(1)
    assert status is not None and status.job_state == "completed"
    assert status.processing_began is True
    assert visible(tmp_path) == ["1-a.pdf"]
    assert (tmp_path / "1-a.pdf").read_bytes() == b"%PDF-whole document"
    assert [p for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


async def test_ended_jobs_are_not_all_kept_in_memory(tmp_path: Path) -> None:
    driver = FileDriver(tmp_path)
    for _ in range(file_driver.ENDED_KEPT + 10):
        job_id = await driver.create_job(TICKET)
        await driver.send_document(job_id, chunks(b"x"), "text/plain", "a.txt", True)
    assert len(driver._jobs) == file_driver.ENDED_KEPT
    first = await driver.get_job(1)  # read back from its state file
    assert first is not None and first.job_state == "completed"
    assert driver.output_files(1) == [tmp_path / "1-a.txt"]
