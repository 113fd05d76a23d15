"""Operating Cirrus through a real Prosody, service, manager and clients: the job log of
a job's whole life, the metrics and health endpoints of the service and the manager, and
a backup taken online, restored into a fresh state directory, and resumed."""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from pathlib import Path

import aiohttp
import pytest

from cirrus.admin_client import AdminClient
from cirrus.stack import toml
from cirrus.stack.local import service_config
from cirrus.stack.xmpp import XmppServer
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from server.config import Settings
from stanzas.errors import NotPossible
from stanzas.groups import JobTicket
from stanzas.operating_ops import BackupResponse
from stanzas.states import JobState
from stanzas.states import JobStateReason as R
from tests.conftest import MANAGER_COMPONENT, Harness
from tests.integration.test_cli import cirrus
from tests.joblog_format import of_job, read

SAMPLE = Path(__file__).parents[2] / "cirrus" / "samples" / "sample.pdf"
ROOT = Path(__file__).parents[2]
WAIT = 30.0


def config(state: Path, xmpp: XmppServer) -> dict[str, object]:
    return service_config(
        state,
        xmpp,
        admins=[xmpp.jid("admin")],
        operators=[xmpp.jid("operator")],
        manager_components=[MANAGER_COMPONENT],
    )


async def started(state: Path, xmpp: XmppServer) -> ServiceApp:
    app = ServiceApp(Settings.model_validate(config(state, xmpp)))
    await app.start()
    return app


def tls(xmpp: XmppServer) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(xmpp.ca_file))


async def get(url: str, xmpp: XmppServer, **headers: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, ssl=tls(xmpp), headers=headers) as response,
    ):
        return response.status, await response.text()


async def restore(config_file: Path, archive: Path) -> tuple[int, str, str]:
    """`python -m server --config … --restore ARCHIVE`, as an operator runs it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "--config",
        str(config_file),
        "--restore",
        str(archive),
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_a_jobs_life_in_the_log_and_the_metrics(harness: Harness, short_tmp: Path) -> None:
    xmpp = harness.xmpp
    service = await started(short_tmp / "service", xmpp)
    try:
        settings = harness.manager_settings()
        settings.metrics_port = 0
        manager = await harness.manager(SimDriver(), settings=settings)
        alice = await harness.client("alice")
        job = await alice.print_files("office", [SAMPLE], job_name="report")
        final = await alice.wait_for_final(job.job_id, timeout=WAIT)
        assert final.job_state == JobState.COMPLETED
        await service.service.settled()
        service.service.job_log.flush()
        life = of_job(read(service.service.settings.job_log_file()), job.job_id)
        events = [r.event for r in life]
        assert events[:2] == ["job-created", "document-received"], events
        assert events[-1] == "job-completed", events
        once = ["job-fetched", "job-acknowledged", "document-fetched", "document-acknowledged"]
        assert [e for e in events if e in once] == once, events
        assert set(events) - {*once, "job-created", "document-received", "job-completed"} <= {
            "job-state-changed",
            "job-progress",
            "job-state-reported",
        }, events
        assert life[0].params["UserName"] == xmpp.jid("alice")
        assert life[-1].params["UserName"] == xmpp.jid("mgr1")
        assert life[-1].params["JobImpressionsCompleted"] == "1"
        assert life[-1].params["JobKOctets"] == str((SAMPLE.stat().st_size + 1023) // 1024)

        base = service.service.public_url
        status, text = await get(f"{base}/metrics", xmpp)
        assert status == 200
        assert 'cirrus_jobs_ended_total{queue="office",state="completed"} 1.0' in text
        assert "cirrus_job_latency_seconds_bucket" in text
        assert 'cirrus_devices{approved="true",online="true"} 1.0' in text
        # Through a proxy (which forwards from loopback too) it is refused.
        status, _ = await get(f"{base}/metrics", xmpp, **{"X-Forwarded-For": "192.0.2.7"})
        assert status == 403
        status, text = await get(f"{base}/healthz", xmpp)
        assert (status, text) == (200, '{"database": "ok", "xmpp": "online"}')

        assert manager.metrics_port
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{manager.metrics_port}/metrics") as response,
        ):
            text = await response.text()
        assert 'cirrus_manager_requests_total{operation="FetchJob",status="successful-ok"} 1.0' in (
            text
        )
        assert 'cirrus_manager_devices_online{queue="office"} 1.0' in text

        # Accounting from the command line, as CSV for a spreadsheet.
        code, out, err = await cirrus(
            harness, "admin", "usage", "--by", "queue", "--csv", user="operator"
        )
        assert code == 0, err
        header, row = out.splitlines()
        assert header == "QUEUE,JOBS,DOCUMENTS,IMPRESSIONS,SHEETS,OCTETS"
        assert row == f"office,1,1,1,1,{SAMPLE.stat().st_size}"
        code, out, err = await cirrus(
            harness, "admin", "quota", xmpp.jid("alice"), "monthly", "--jobs", "1", user="admin"
        )
        assert code == 0, err
        assert out.splitlines()[2].split()[:5] == [xmpp.jid("alice"), "(all)", "monthly", "1", "of"]
        code, _out, err = await cirrus(
            harness, "admin", "quota", xmpp.jid("alice"), "monthly", "--jobs", "2", user="operator"
        )
        assert code == 2 and "client-error-not-authorized" in err
    finally:
        await service.stop()


async def test_health_says_what_is_wrong(harness: Harness, short_tmp: Path) -> None:
    xmpp = harness.xmpp
    state = short_tmp / "service"
    settings = Settings.model_validate({**config(state, xmpp), "metrics": {"token": "s3cret"}})
    service = ServiceApp(settings)
    await service.start()
    try:
        base = service.service.public_url
        status, _ = await get(f"{base}/metrics", xmpp)
        assert status == 403  # a token is set: loopback is not enough
        status, text = await get(f"{base}/metrics", xmpp, Authorization="Bearer s3cret")
        assert status == 200 and "cirrus_requests_total" in text
        component = service.component
        assert component is not None
        gone = asyncio.Event()
        component.add_event_handler("disconnected", lambda _event: gone.set())
        component.stopping = True
        component.disconnect(wait=1.0)
        await asyncio.wait_for(gone.wait(), WAIT)
        status, text = await get(f"{base}/healthz", xmpp)
        assert status == 503 and "the component is not connected" in text
    finally:
        await service.stop()


async def test_backup_restore_resume(harness: Harness, short_tmp: Path) -> None:
    xmpp = harness.xmpp
    first = await started(short_tmp / "first", xmpp)
    try:
        await harness.manager(SimDriver())
        later = await harness.manager(SimDriver(), account="mgr2", queue="later")
        await later.stop()  # the queue exists; its device is away
        alice = await harness.client("alice")
        done = await alice.print_files("office", [SAMPLE])
        assert (await alice.wait_for_final(done.job_id, timeout=WAIT)).job_state == (
            JobState.COMPLETED
        )
        held = await alice.create_job("office", ticket=JobTicket(job_hold_until="indefinite"))
        await alice.send_document(held.job_id, SAMPLE)
        canceled = await alice.create_job("office")
        await alice.cancel_job(canceled.job_id)
        waiting = await alice.print_files("later", [SAMPLE], job_name="after the restore")
        assert waiting.job_state == JobState.PENDING
        admin = AdminClient(await harness.client("admin"))
        response, text = await admin.run("backup", {"file": "nightly.tar"})
        assert isinstance(response, BackupResponse)
        assert "nightly.tar" in text.text()
        assert (response.job_count, response.document_count) == (4, 2)  # held's and waiting's
        archive = Path(response.backup_path)
        assert archive.parent == first.service.settings.backup_folder()
        assert oct(archive.stat().st_mode & 0o777) == "0o600"
        with pytest.raises(NotPossible):  # never over an existing file
            await admin.run("backup", {"file": "nightly.tar"})
    finally:
        await first.stop()

    fresh = short_tmp / "restored"
    config_file = toml.write(fresh / "service.toml", config(fresh, xmpp))
    code, out, err = await restore(config_file, archive)
    assert code == 0, err
    assert "restored 4 jobs and the data of 2 documents" in out
    code, out, err = await restore(config_file, archive)  # a second time: refused
    assert code == 1 and "fresh state directory" in err

    second = await started(fresh, xmpp)
    try:
        jobs = second.service.jobs
        states = {
            j: (await jobs.get(j)).job_state  # type: ignore[union-attr]
            for j in (done.job_id, held.job_id, canceled.job_id, waiting.job_id)
        }
        assert states == {
            done.job_id: JobState.COMPLETED,
            held.job_id: JobState.PENDING_HELD,
            canceled.job_id: JobState.CANCELED,
            waiting.job_id: JobState.PENDING,
        }
        kept = await jobs.get(held.job_id)
        assert kept is not None and R.JOB_HOLD_UNTIL_SPECIFIED in kept.job_state_reasons
        # The device comes back, resynchronises, and the waiting job prints.
        sim = SimDriver()
        await harness.manager(sim, account="mgr2", queue="later", settings=later.settings)
        final = await alice.wait_for_final(waiting.job_id, timeout=WAIT)
        assert final.job_state == JobState.COMPLETED
        assert [j.name for j in sim.jobs.values()] == ["after the restore"]
        assert sim.jobs[1].byte_count == SAMPLE.stat().st_size
    finally:
        await second.stop()
