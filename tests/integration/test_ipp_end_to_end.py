"""The foundation test: a PDF from a user, through Prosody, the service and a manager,
onto a real IPP printer (ippeveprinter), with every state pushed back to the user."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from cirrus.stack.ippeveprinter import IppEvePrinter, start_ippeveprinter
from manager.drivers import make_driver
from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE, WAIT

pytestmark = pytest.mark.every_xmpp_server


@pytest.fixture
async def printer(short_tmp) -> AsyncIterator[IppEvePrinter]:  # type: ignore[no-untyped-def]
    instance = await start_ippeveprinter(short_tmp / "printer", command="/bin/true")
    try:
        yield instance
    finally:
        await instance.stop()


async def test_a_pdf_prints_on_ippeveprinter_end_to_end(
    service, harness: Harness, printer: IppEvePrinter
) -> None:
    settings = harness.manager_settings(driver=f"ipp:{printer.uri}")
    await harness.manager(make_driver(settings.devices[0].driver), settings=settings)
    queue = await service.service.queues.get("office")
    assert queue is not None
    # The queue carries what the printer reported about itself.
    assert queue.capabilities.document_format_supported
    assert "application/pdf" in queue.capabilities.document_format_supported
    assert queue.capabilities.media_supported

    alice = await harness.client("alice")
    job = await alice.create_job("office", job_name="quarterly report")
    await alice.send_document(job.job_id, SAMPLE)
    states = [s async for s in alice.job_updates(job.job_id, timeout=WAIT)]

    final = states[-1]
    assert final.job_state == JobState.COMPLETED, states
    assert final.job_state_reasons == ["job-completed-successfully"]
    seen = [s.job_state for s in states]
    assert seen[0] == JobState.PENDING and JobState.COMPLETED in seen
    assert final.output_device_job_id is not None and final.output_device_job_id >= 1
    printed = [p for p in printer.spool_dir.rglob("*") if p.is_file()]
    assert any(p.read_bytes() == SAMPLE.read_bytes() for p in printed), printed


async def test_identify_printer_is_relayed_as_ipp(printer: IppEvePrinter) -> None:
    driver = make_driver(f"ipp:{printer.uri}")
    await driver.start()
    try:
        await driver.identify(["sound"], "find me")  # ippeveprinter answers successful-ok
    finally:
        await driver.close()
