"""EmailOut end to end: a user's documents through Prosody, the service and a manager
whose device is a real SMTP server on loopback (aiosmtpd, STARTTLS and AUTH); the test
reads what was delivered. FaxOut: the same generic path with tel: destinations, to the
sim driver (no real fax peer runs here, so FaxOut is partial: docs/architecture.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from manager.app import ManagerApp
from manager.config import ManagerSettings
from manager.drivers.sim import SimDriver
from stanzas.errors import AttributesNotSupported, BadRequest
from stanzas.groups import JobTicket
from stanzas.states import JobState, ServiceType
from stanzas.types import INLINE_DOCUMENT_MAX
from tests.conftest import Harness
from tests.documents import make_pdf, make_photo_pdf
from tests.integration.test_cli import cirrus
from tests.smtp_server import REFUSED_DOMAIN, SmtpServer, smtp_server

WAIT = 30


@pytest.fixture
def smtp(short_tmp: Path) -> Iterator[SmtpServer]:
    with smtp_server(short_tmp) as server:
        yield server


async def email_manager(harness: Harness, smtp: SmtpServer, queue: str = "mail") -> ManagerApp:
    settings = harness.manager_settings(queue=queue, driver="smtp:")
    data = settings.model_dump(mode="json")
    data["smtp"] = {
        "host": smtp.host,
        "port": smtp.port,
        "username": smtp.username,
        "password": smtp.password,
        "from_address": "office-scanner@cirrus.example",
        "ca_file": str(smtp.ca_file),
        "timeout": 10,
    }
    settings = await harness.enrol(ManagerSettings.model_validate(data))
    app = ManagerApp(settings)  # the smtp driver built from the config, as in real life
    await app.start()
    harness._stack.push_async_callback(app.stop)
    await app.synced.wait()
    return app


async def test_documents_are_emailed_through_the_smtp_server(
    service, harness: Harness, smtp: SmtpServer, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    await email_manager(harness, smtp)
    queue = await service.service.queues.get("mail")
    assert queue is not None and queue.service_type == "emailout"
    assert queue.capabilities.destination_uri_schemes_supported == ["mailto"]

    alice = await harness.client("alice")
    big = make_photo_pdf(short_tmp / "report.pdf")  # over the in-band limit: HTTPS
    assert big.stat().st_size > INLINE_DOCUMENT_MAX
    small = make_pdf(short_tmp / "cover.pdf", pages=1)
    job = await alice.print_files(
        "mail",
        [small, big],
        job_name="Quarterly report",
        ticket=JobTicket(destination_uris=["mailto:bob@example.org"]),
        service_type=ServiceType.EMAIL_OUT,
    )
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED, final
    assert "queued as cirrus-1" in (final.job_state_message or "")

    [mail] = smtp.delivered
    assert mail.recipients == ["bob@example.org"]
    assert mail.message["Subject"] == "Quarterly report"
    parts = list(mail.message.iter_attachments())
    assert [p.get_filename() for p in parts] == ["cover.pdf", "report.pdf"]
    body = mail.message.get_body(("plain",))
    assert body is not None
    for part, original in zip(parts, (small, big), strict=True):
        assert part.get_content() == original.read_bytes()
        assert hashlib.sha256(original.read_bytes()).hexdigest() in body.get_content()


async def test_a_refused_recipient_aborts_the_job_with_the_reply(
    service, harness: Harness, smtp: SmtpServer, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    await email_manager(harness, smtp)
    alice = await harness.client("alice")
    job = await alice.print_files(
        "mail",
        [make_pdf(short_tmp / "a.pdf")],
        ticket=JobTicket(destination_uris=[f"mailto:nobody@{REFUSED_DOMAIN}"]),
        service_type=ServiceType.EMAIL_OUT,
    )
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.ABORTED
    assert "550 5.1.1" in (final.job_state_message or "")
    assert smtp.delivered == []


async def test_an_emailout_job_needs_mailto_destinations(
    service, harness: Harness, smtp: SmtpServer
) -> None:  # type: ignore[no-untyped-def]
    await email_manager(harness, smtp)
    alice = await harness.client("alice")
    with pytest.raises(AttributesNotSupported, match="destination-uris"):
        await alice.create_job(
            "mail",
            ticket=JobTicket(destination_uris=["tel:+15555550100"]),
            service_type=ServiceType.EMAIL_OUT,
        )
    with pytest.raises(BadRequest, match="needs destination-uris"):
        await alice.create_job("mail", service_type=ServiceType.EMAIL_OUT)


async def test_cirrus_print_to_mailto(
    service, harness: Harness, smtp: SmtpServer, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    await email_manager(harness, smtp)
    doc = make_pdf(short_tmp / "minutes.pdf")
    code, out, err = await cirrus(
        harness, "print", "--queue", "mail", "--to", "mailto:carol@example.org", str(doc)
    )
    assert code == 0, err
    assert "completed" in out
    assert [m.recipients for m in smtp.delivered] == [["carol@example.org"]]


async def test_faxout_takes_the_generic_path_to_a_simulated_device(
    service, harness: Harness, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    """Partial: the sim driver stands in for an IPP FaxOut device (none runs here)."""
    settings = harness.manager_settings(queue="fax", driver="sim:")
    settings.devices[0].service = "faxout"
    sim = SimDriver(destination_uri_schemes=("tel",))
    await harness.manager(sim, queue="fax", settings=settings)
    queue = await service.service.queues.get("fax")
    assert queue is not None and queue.service_type == "faxout"
    alice = await harness.client("alice")
    job = await alice.print_files(
        "fax",
        [make_pdf(short_tmp / "fax.pdf")],
        ticket=JobTicket(destination_uris=["tel:+15555550100"]),
        service_type=ServiceType.FAX_OUT,
    )
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED
    [device_job] = sim.jobs.values()
    assert device_job.ticket.destination_uris == ("tel:+15555550100",)


async def test_a_printer_is_no_fax_peer(service, harness: Harness, short_tmp: Path) -> None:  # type: ignore[no-untyped-def]
    """A FaxOut queue whose device is a plain IPP printer: ippeveprinter would take the
    Create-Job and ignore destination-uris, printing the fax. The queue lists no tel:
    destinations, so the service refuses the job; the ipp driver refuses it too."""
    from cirrus.stack.ippeveprinter import start_ippeveprinter
    from manager.drivers import make_driver
    from manager.drivers.base import DeviceJobTicket, DeviceRejected

    printer = await start_ippeveprinter(short_tmp / "printer", command="/bin/true")
    try:
        settings = harness.manager_settings(queue="fax", driver=f"ipp:{printer.uri}")
        settings.devices[0].service = "faxout"
        await harness.manager(make_driver(printer.uri), queue="fax", settings=settings)
        alice = await harness.client("alice")
        with pytest.raises(AttributesNotSupported, match="the device sends nothing"):
            await alice.create_job(
                "fax",
                ticket=JobTicket(destination_uris=["tel:+15555550100"]),
                service_type=ServiceType.FAX_OUT,
            )
        driver = make_driver(printer.uri)
        await driver.start()
        try:
            with pytest.raises(DeviceRejected, match="it is no FaxOut device"):
                await driver.create_job(
                    DeviceJobTicket("fax", "alice", destination_uris=("tel:+15555550100",))
                )
        finally:
            await driver.close()
        assert printer.output_files() == []
    finally:
        await printer.stop()
