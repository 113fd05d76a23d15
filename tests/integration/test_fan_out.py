"""A queue with several devices (fan-out, INFRA's Infrastructure Printer with several
Output Devices), end to end: real Prosody, the service, real managers with sim devices.
Managers racing for the same jobs print none twice; a job only one device can print
goes to that device."""

from __future__ import annotations

import asyncio
import collections
import logging
import uuid

import pytest

from manager.app import ManagerApp
from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from server.devices import dispatch
from stanzas.groups import JobTicket
from stanzas.states import JobState
from tests.conftest import Harness

WAIT = 60.0
PDF = b"%PDF-1.4 fan-out test document"


async def manager_of(harness: Harness, account: str, sims: dict[str, SimDriver]) -> ManagerApp:
    """One manager fronting several devices of the queue office, each enrolled with its
    own code; `sims` by device name."""
    settings = harness.manager_settings(account, "office")
    template = settings.devices[0]
    settings.devices = [
        template.model_copy(update={"output_device_uuid": uuid.uuid4().urn, "device_name": name})
        for name in sims
    ]
    settings = await harness.enrol(settings)
    drivers = {d.output_device_uuid: sims[d.device_name or ""] for d in settings.devices}
    app = ManagerApp(settings, drivers=drivers)  # type: ignore[arg-type]
    await app.start()
    harness._stack.push_async_callback(app.stop)
    await app.synced.wait()
    return app


async def test_managers_racing_for_500_jobs_print_none_twice(
    service: ServiceApp,
    harness: Harness,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every job offered to one device is offered to every free device at once: the
    # managers race for all of them, and the first acknowledgement must win each time.
    monkeypatch.setattr(dispatch, "RACE_DELAY", 0.0)
    sims = {f"dev{i}": SimDriver() for i in range(4)}
    await manager_of(harness, "mgr1", {"dev0": sims["dev0"], "dev1": sims["dev1"]})
    await manager_of(harness, "mgr2", {"dev2": sims["dev2"], "dev3": sims["dev3"]})
    alice = await harness.client("alice")
    names = [f"job-{n}" for n in range(500)]
    jobs = []
    for start in range(0, len(names), 50):
        jobs += await asyncio.gather(
            *(
                alice.print_document(
                    "office",
                    PDF,
                    document_name="a.pdf",
                    document_format="application/pdf",
                    job_name=n,
                )
                for n in names[start : start + 50]
            )
        )
    finals = await asyncio.gather(*(alice.wait_for_final(j.job_id, timeout=WAIT) for j in jobs))
    assert {f.job_state for f in finals} == {JobState.COMPLETED}

    printed = collections.Counter(job.name for sim in sims.values() for job in sim.printed())
    assert sorted(printed) == sorted(names) and set(printed.values()) == {1}  # once each
    printed_by = {job.name: name for name, sim in sims.items() for job in sim.printed()}
    assert {f.job_name: f.output_device_assigned for f in finals} == printed_by
    assert all(sim.printed() for sim in sims.values())  # every device took a share
    # The race was real: devices created device jobs for jobs another device took, and
    # canceled them when the service refused their acknowledgement.
    lost = sum(1 for sim in sims.values() for job in sim.jobs.values() if job.state == "canceled")
    assert lost > 0
    # The losers moved on quietly: a refused acknowledgement is no error anywhere.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_a_job_only_one_device_can_print_goes_to_that_device(
    service: ServiceApp, harness: Harness
) -> None:
    mono, color = SimDriver(color_modes=("monochrome",)), SimDriver()
    await manager_of(harness, "mgr1", {"mono": mono})
    await manager_of(harness, "mgr2", {"color": color})
    alice = await harness.client("alice")
    queue = (await alice.list_queues())[0]
    assert queue.description is not None and queue.description.printer_name == "office"
    jobs = []
    for n in range(10):
        for mode in ("color", "monochrome"):
            jobs.append(
                await alice.print_document(
                    "office",
                    PDF,
                    document_name="a.pdf",
                    document_format="application/pdf",
                    job_name=f"{mode}-{n}",
                    ticket=JobTicket(print_color_mode=mode),
                )
            )
    finals = await asyncio.gather(*(alice.wait_for_final(j.job_id, timeout=WAIT) for j in jobs))
    assert {f.job_state for f in finals} == {JobState.COMPLETED}
    on_mono = {j.name for j in mono.printed()}
    on_color = {j.name for j in color.printed()}
    assert {f"color-{n}" for n in range(10)} <= on_color
    assert not any(name.startswith("color") for name in on_mono)
    assert len(on_mono) + len(on_color) == 20
    assert {
        f.job_name: f.output_device_assigned for f in finals if f.job_name.startswith("color")
    } == {f"color-{n}": "color" for n in range(10)}
