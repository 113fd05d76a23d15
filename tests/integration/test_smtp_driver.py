"""The smtp (EmailOut) driver against a real SMTP server on loopback (aiosmtpd with
STARTTLS and AUTH): what arrives, and how refusals and failures end the job."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from manager.drivers.base import DeviceJobStatus, DeviceJobTicket, DeviceRejected
from manager.drivers.smtp import SmtpDriver, SmtpSettings, mailto_addresses
from tests.documents import make_image, make_pdf
from tests.smtp_server import REFUSED_DOMAIN, SmtpServer, free_port, smtp_server


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path) as server:
        yield server


def settings(server: SmtpServer, **overrides: object) -> SmtpSettings:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": "starttls",
        "username": server.username,
        "password": server.password,
        "from_address": "scanner@cirrus.example",
        "ca_file": server.ca_file,
        "timeout": 10,
    }
    return SmtpSettings.model_validate({**values, **overrides})


async def chunks(path: Path) -> AsyncIterator[bytes]:
    data = path.read_bytes()
    for start in range(0, len(data), 7000):
        yield data[start : start + 7000]


async def finished(driver: SmtpDriver, job_id: int) -> DeviceJobStatus:
    for _ in range(200):
        status = await driver.get_job(job_id)
        assert status is not None
        if status.is_terminal:
            return status
        await driver.wait_for_change(0.5)
    raise AssertionError("the email job did not end")


async def send(driver: SmtpDriver, uris: tuple[str, ...], *docs: tuple[Path, str]) -> int:
    job_id = await driver.create_job(
        DeviceJobTicket(
            job_name="Quarterly report",
            requesting_user_name="alice@localhost",
            destination_uris=uris,
        )
    )
    for index, (path, fmt) in enumerate(docs):
        await driver.send_document(job_id, chunks(path), fmt, path.name, index == len(docs) - 1)
    return job_id


async def test_documents_arrive_as_attachments_with_their_digests(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    pdf = make_pdf(tmp_path / "report.pdf", pages=2)
    jpeg = make_image(tmp_path / "photo.jpg")
    driver = SmtpDriver(settings(smtp), tmp_path / "spool")
    await driver.start()
    job_id = await send(
        driver,
        ("mailto:bob@example.org", "mailto:carol@example.org,dave@example.org"),
        (pdf, "application/pdf"),
        (jpeg, "image/jpeg"),
    )
    status = await finished(driver, job_id)
    assert status.job_state == "completed", status.job_state_message
    assert "queued as cirrus-1" in status.job_state_message
    [mail] = smtp.delivered
    assert mail.sender == "scanner@cirrus.example"
    assert mail.recipients == ["bob@example.org", "carol@example.org", "dave@example.org"]
    assert mail.message["Subject"] == "Quarterly report"
    parts = list(mail.message.iter_attachments())
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        ("report.pdf", "application/pdf"),
        ("photo.jpg", "image/jpeg"),
    ]
    body = mail.message.get_body(("plain",))
    assert body is not None
    for part, original in zip(parts, (pdf, jpeg), strict=True):
        data = part.get_content()
        assert data == original.read_bytes()
        assert f"SHA-256 {hashlib.sha256(data).hexdigest()}" in body.get_content()
    assert sorted(p.name for p in (tmp_path / "spool" / str(job_id)).iterdir()) == ["job.json"]
    await driver.close()


async def test_a_refused_recipient_aborts_with_the_servers_reply(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    driver = SmtpDriver(settings(smtp), tmp_path / "spool")
    await driver.start()
    doc = make_pdf(tmp_path / "a.pdf")
    job_id = await send(driver, (f"mailto:nobody@{REFUSED_DOMAIN}",), (doc, "application/pdf"))
    status = await finished(driver, job_id)
    assert status.job_state == "aborted"
    assert f"nobody@{REFUSED_DOMAIN}: 550 5.1.1" in status.job_state_message
    assert smtp.delivered == []
    partly = await send(
        driver, (f"mailto:x@{REFUSED_DOMAIN}", "mailto:bob@example.org"), (doc, "application/pdf")
    )
    status = await finished(driver, partly)
    assert (status.job_state, status.job_state_reasons) == ("completed", ("completed-with-errors",))
    assert "refused x@refused.example: 550" in status.job_state_message
    assert [d.recipients for d in smtp.delivered] == [["bob@example.org"]]


async def test_a_wrong_password_aborts_with_the_servers_reply(
    smtp: SmtpServer, tmp_path: Path
) -> None:
    driver = SmtpDriver(settings(smtp, password="wrong"), tmp_path / "spool")
    await driver.start()
    doc = make_pdf(tmp_path / "a.pdf")
    status = await finished(
        driver, await send(driver, ("mailto:b@example.org",), (doc, "application/pdf"))
    )
    assert status.job_state == "aborted"
    assert "SMTP 535" in status.job_state_message
    assert smtp.delivered == []


async def test_an_unreachable_server_aborts_the_job(tmp_path: Path) -> None:
    driver = SmtpDriver(
        SmtpSettings(host="127.0.0.1", port=free_port(), from_address="s@x.example", timeout=5),
        tmp_path / "spool",
    )
    await driver.start()
    doc = make_pdf(tmp_path / "a.pdf")
    status = await finished(
        driver, await send(driver, ("mailto:b@example.org",), (doc, "application/pdf"))
    )
    assert status.job_state == "aborted"
    assert "could not reach the SMTP server 127.0.0.1" in status.job_state_message
    assert "refused" in status.job_state_message.lower()


async def test_tickets_without_email_destinations_are_refused(tmp_path: Path) -> None:
    driver = SmtpDriver(SmtpSettings(host="127.0.0.1", from_address="s@x.example"), tmp_path / "s")
    await driver.start()
    for uris in ((), ("tel:+15551234",), ("mailto:not-an-address",)):
        with pytest.raises(DeviceRejected) as caught:
            await driver.create_job(
                DeviceJobTicket(job_name="j", requesting_user_name="u", destination_uris=uris)
            )
        assert caught.value.status.startswith("client-error-")
    assert mailto_addresses(["mailto:a%40b.example"]) == ["a@b.example"]


async def test_a_send_cut_off_by_a_restart_is_reported_not_repeated(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    (spool / "7").mkdir(parents=True)
    state = {
        "job_id": 7,
        "job_name": "j",
        "user": "u",
        "recipients": ["b@example.org"],
        "state": "processing",
        "reasons": ["job-transforming"],
        "message": "",
        "documents": [],
    }
    (spool / "7" / "job.json").write_text(json.dumps(state))
    driver = SmtpDriver(SmtpSettings(host="127.0.0.1", from_address="s@x.example"), spool)
    await driver.start()
    status = await driver.get_job(7)
    assert status is not None and status.job_state == "aborted"
    assert "may or may not have been delivered" in status.job_state_message
    assert await driver.create_job(
        DeviceJobTicket(job_name="n", requesting_user_name="u", destination_uris=("mailto:b@c.d",))
    ) == 8  # fmt: skip


async def test_cancel_before_the_last_document(smtp: SmtpServer, tmp_path: Path) -> None:
    driver = SmtpDriver(settings(smtp), tmp_path / "spool")
    await driver.start()
    doc = make_pdf(tmp_path / "a.pdf")
    job_id = await driver.create_job(
        DeviceJobTicket(job_name="j", requesting_user_name="u", destination_uris=("mailto:b@c.d",))
    )
    await driver.send_document(job_id, chunks(doc), "application/pdf", "a.pdf", last=False)
    await driver.cancel_job(job_id)
    status = await driver.get_job(job_id)
    assert status is not None and status.job_state == "canceled"
    assert [p.name for p in (tmp_path / "spool" / str(job_id)).iterdir()] == ["job.json"]
    assert smtp.delivered == []
