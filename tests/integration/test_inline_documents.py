"""Small documents in-band (document-data): client → service → manager with no HTTPS."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from slixmpp.exceptions import IqError

from manager.drivers.sim import SimDriver
from stanzas import client_ops as cops
from stanzas import device_ops as dops
from stanzas.errors import BadRequest, CloudImagingError, DocumentAccessError, NotAuthorized
from stanzas.namespace import NS
from stanzas.states import JobState
from stanzas.transport import error_from_xml
from stanzas.types import INLINE_DOCUMENT_MAX
from tests.conftest import Harness
from tests.integration.test_print_flow import WAIT
from tests.integration.test_security import raw_session


def _emitted(wire: list[Any], name: str) -> list[Any]:
    return [e for e in wire if e.tag == f"{{{NS}}}{name}"]


def _data_of(element: Any) -> bytes | None:
    text = element.findtext(f"{{{NS}}}document-data")
    return None if text is None else base64.b64decode(text)


async def test_a_small_document_travels_in_band_both_ways_and_prints_byte_for_byte(
    service, harness: Harness, tmp_path: Path, schema_checked_wire: list[Any]
) -> None:
    sim = SimDriver(keep_data=True)
    await harness.manager(sim)
    alice = await harness.client("alice")
    content = os.urandom(INLINE_DOCUMENT_MAX)  # the largest that goes in-band
    path = tmp_path / "note.pdf"
    path.write_bytes(content)

    job = await alice.create_job("office", job_name="note")
    uploaded = await alice.send_document(job.job_id, path)
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)

    assert final.job_state == JobState.COMPLETED
    assert uploaded.size == len(content)
    assert uploaded.digest == hashlib.sha256(content).hexdigest()
    (sent,) = _emitted(schema_checked_wire, "SendDocument")
    assert _data_of(sent) == content
    (answer,) = _emitted(schema_checked_wire, "SendDocumentResponse")
    assert answer.find(f"{{{NS}}}upload-uri") is None  # no HTTPS upload
    (fetched,) = _emitted(schema_checked_wire, "FetchDocumentResponse")
    assert _data_of(fetched) == content
    assert fetched.find(f"{{{NS}}}document-access-uri") is None  # no HTTPS download
    assert sim.jobs[1].documents[0].data == content


async def test_one_octet_more_takes_the_https_path(
    service, harness: Harness, tmp_path: Path, schema_checked_wire: list[Any]
) -> None:
    sim = SimDriver(keep_data=True)
    await harness.manager(sim)
    alice = await harness.client("alice")
    content = os.urandom(INLINE_DOCUMENT_MAX + 1)
    path = tmp_path / "big.pdf"
    path.write_bytes(content)

    job = await alice.create_job("office")
    await alice.send_document(job.job_id, path)
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED

    (sent,) = _emitted(schema_checked_wire, "SendDocument")
    assert _data_of(sent) is None
    (fetched,) = _emitted(schema_checked_wire, "FetchDocumentResponse")
    assert _data_of(fetched) is None
    assert fetched.find(f"{{{NS}}}document-access-uri") is not None
    assert sim.jobs[1].documents[0].data == content


async def test_in_band_data_that_does_not_match_its_digest_is_refused_and_nothing_is_kept(
    service, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    alice = await harness.client("alice")
    job = await alice.create_job("office")
    with pytest.raises(DocumentAccessError):
        await alice.session.request(
            cops.SendDocument(
                job_id=job.job_id,
                document_digest=hashlib.sha256(b"something else").hexdigest(),
                document_data=b"%PDF-1.4 tampered",
            ),
            cops.SendDocumentResponse,
        )
    assert await service.service.documents.list(job.job_id) == []
    assert list(service.service.spool.directory.iterdir()) == []
    # The job still takes its document: the failed attempt held nothing.
    uploaded = await alice.send_document_data(job.job_id, b"%PDF-1.4 fine", document_name="a")
    assert uploaded.document_number == 1


@pytest.mark.parametrize(
    "data",
    ["not base64!", "QUJD RA==x", base64.b64encode(bytes(INLINE_DOCUMENT_MAX + 1)).decode()],
    ids=["bad-characters", "bad-padding", "too-large"],
)
async def test_malformed_or_oversized_in_band_data_gets_bad_request(
    service, harness: Harness, data: str
) -> None:
    await harness.manager(SimDriver())
    alice = await harness.client("alice")
    job = await alice.create_job("office")
    element = cops.SendDocument(job_id=job.job_id).to_xml()
    child = element.makeelement(f"{{{NS}}}document-data", {})
    child.text = data
    element.append(child)
    iq = alice.session.make_iq(ito=alice.session.service_jid, itype="set")
    iq.xml.append(element)
    with pytest.raises(IqError) as refused:
        await iq.send(timeout=WAIT)
    assert isinstance(error_from_xml(refused.value.iq.xml), BadRequest)
    assert await service.service.documents.list(job.job_id) == []
    assert (await alice.get_job(job.job_id)).job_state == JobState.PENDING


async def test_only_the_bound_device_gets_in_band_data(service, harness: Harness) -> None:
    office = harness.manager_settings("mgr1", "office")
    await (await harness.manager(SimDriver(), settings=office)).stop()
    await harness.manager(SimDriver(), account="mgr2", queue="elsewhere")
    alice = await harness.client("alice")
    job = await alice.create_job("office")
    await alice.send_document_data(job.job_id, b"%PDF-1.4 secret", document_name="s")
    intruder = await raw_session(harness, "mgr2")
    devices = await service.service.devices.list_all()
    mgr2 = next(d for d in devices if d.printer_name == "elsewhere").output_device_uuid
    with pytest.raises(NotAuthorized):
        await intruder.request(
            dops.FetchDocument(
                output_device_uuid=mgr2,
                job_id=job.job_id,
                document_number=1,
                document_data_accepted=True,
            ),
            dops.FetchDocumentResponse,
        )


async def test_print_job_commits_job_and_document_in_one_request_and_prints(
    service, harness: Harness, tmp_path: Path, schema_checked_wire: list[Any]
) -> None:
    sim = SimDriver(keep_data=True)
    await harness.manager(sim)
    alice = await harness.client("alice")
    content = b"%PDF-1.4 one request\n"
    path = tmp_path / "memo.pdf"
    path.write_bytes(content)

    job = await alice.print_files("office", [path])
    # Committed and closed when the one answer came.
    assert job.job_state == JobState.PENDING and "job-fetchable" in job.job_state_reasons
    assert job.number_of_documents == 1
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED
    assert sim.jobs[1].documents[0].data == content
    assert sim.jobs[1].name == "memo.pdf"
    sent = {e.tag.rsplit("}", 1)[-1] for e in schema_checked_wire}
    assert "PrintJob" in sent and not {"CreateJob", "SendDocument"} & sent


@pytest.mark.parametrize("failure", ["format", "digest", "not-accepting"])
async def test_a_refused_print_job_creates_nothing(service, harness: Harness, failure: str) -> None:
    await harness.manager(SimDriver(document_formats=["application/pdf"]))
    alice = await harness.client("alice")
    request = cops.PrintJob(
        printer_name="office",
        document_format="image/pwg-raster" if failure == "format" else "application/pdf",
        document_digest=hashlib.sha256(b"other").hexdigest() if failure == "digest" else None,
        document_data=b"%PDF-1.4 refused",
    )
    if failure == "not-accepting":
        queue = await service.service.queues.get("office")
        await service.service.queues.update(queue, is_accepting_jobs=False)
    with pytest.raises(CloudImagingError) as refused:
        await alice.session.request(request, cops.PrintJobResponse)
    expected = {
        "format": "client-error-document-format-not-supported",
        "digest": "client-error-document-access-error",
        "not-accepting": "server-error-not-accepting-jobs",
    }[failure]
    assert refused.value.status == expected
    assert await service.service.jobs.list_active() == []
    assert list(service.service.spool.directory.iterdir()) == []
