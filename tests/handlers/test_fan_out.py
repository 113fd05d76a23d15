"""A queue with several devices (fan-out), over a fake stream: who is offered a job,
what FetchJob and AcknowledgeJob refuse (client-error-not-fetchable), the window of one
unfinished job per device, capabilities that route a job to the one device that can
print it, a paused device, and the administrators' device operations."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET

import pytest

from server.devices import dispatch
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.errors import NotFetchable
from stanzas.groups import Capabilities, JobTicket, ServiceStatus
from stanzas.namespace import qname
from stanzas.states import JobState, PrinterState
from tests.handlers.conftest import DEVICE, DEVICE2, enrollment_code
from tests.handlers.stream import ADMIN, ALICE, MGR1, MGR2, OPERATOR, Stream

PDF = b"%PDF-1.4 fan-out"
MONO = Capabilities(
    print_color_mode_supported=["monochrome"], document_format_supported=["application/pdf"]
)
COLOR = Capabilities(
    print_color_mode_supported=["monochrome", "color"],
    document_format_supported=["application/pdf"],
)


@pytest.fixture(autouse=True)
def no_race_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """The race round (a second later) is its own test's subject."""
    monkeypatch.setattr(dispatch, "RACE_DELAY", 3600.0)


def offers(pushes: list[ET.Element]) -> dict[str, list[int]]:
    """Job ids offered, by the device (uuid) they were offered to."""
    found: dict[str, list[int]] = {}
    for push in pushes:
        for note in push.iter(qname(d.WorkNotification.ELEMENT)):
            work = d.WorkNotification.from_xml(note)
            if work.fetchable_job_ids:
                found.setdefault(work.output_device_uuid, []).extend(work.fetchable_job_ids)
    return found


async def two_devices(
    stream: Stream,
    caps: tuple[Capabilities, Capabilities] = (COLOR, COLOR),
    states: tuple[PrinterState, PrinterState] = (PrinterState.IDLE, PrinterState.IDLE),
) -> None:
    for sender, device, cap, state in (
        (MGR1, DEVICE, caps[0], states[0]),
        (MGR2, DEVICE2, caps[1], states[1]),
    ):
        code = await enrollment_code(stream, "office")
        answer, _ = await stream.iq(
            sender,
            d.RegisterDevice(
                output_device_uuid=device,
                printer_name="office",
                capabilities=cap,
                status=ServiceStatus(printer_state=state),
                enrollment_code=code,
            ),
        )
        assert answer.get("type") == "result"


async def print_job(
    stream: Stream, ticket: JobTicket | None = None
) -> tuple[int, dict[str, list[int]]]:
    answer, pushes = await stream.iq(
        ALICE,
        c.PrintJob(
            printer_name="office",
            document_data=PDF,
            document_format="application/pdf",
            job_ticket=ticket,
        ),
    )
    assert answer.get("type") == "result", ET.tostring(answer)
    return c.PrintJobResponse.from_xml(answer[0]).job.job_id, offers(pushes)


async def take(stream: Stream, sender: str, device: str, job_id: int) -> None:
    answer, _ = await stream.iq(sender, d.FetchJob(output_device_uuid=device, job_id=job_id))
    assert answer.get("type") == "result", ET.tostring(answer)
    answer, _ = await stream.iq(
        sender, d.AcknowledgeJob(output_device_uuid=device, job_id=job_id, output_device_job_id=1)
    )
    assert answer.get("type") == "result", ET.tostring(answer)


async def test_a_job_is_offered_to_one_idle_device_and_bound_to_the_first_to_take_it(
    stream: Stream,
) -> None:
    await two_devices(stream, states=(PrinterState.PROCESSING, PrinterState.IDLE))
    job_id, offered = await print_job(stream)
    assert offered == {DEVICE2: [job_id]}  # the idle one, alone
    # Both fetch it (a manager may act on an old list): the first acknowledgement binds.
    for sender, device in ((MGR2, DEVICE2), (MGR1, DEVICE)):
        fetched, _ = await stream.iq(sender, d.FetchJob(output_device_uuid=device, job_id=job_id))
        assert fetched.get("type") == "result"
    won, _ = await stream.iq(
        MGR2, d.AcknowledgeJob(output_device_uuid=DEVICE2, job_id=job_id, output_device_job_id=3)
    )
    assert won.get("type") == "result"
    lost = await stream.refused(
        MGR1, d.AcknowledgeJob(output_device_uuid=DEVICE, job_id=job_id, output_device_job_id=4)
    )
    assert lost.status == NotFetchable.status
    job = await stream.ctx.jobs.get(job_id)
    assert job is not None and job.output_device_uuid == DEVICE2
    assert job.output_device_assigned == "office-2" and job.output_device_job_id == 3
    answer, _ = await stream.iq(ALICE, c.GetJobElements(job_id=job_id), "get")
    status = c.GetJobElementsResponse.from_xml(answer[0]).job
    assert status.output_device_assigned == "office-2"


async def test_each_free_device_is_offered_a_job_of_its_own_and_one_waits_at_a_time(
    stream: Stream,
) -> None:
    await two_devices(stream)
    first, offered_first = await print_job(stream)
    second, offered_second = await print_job(stream)
    third, offered_third = await print_job(stream)
    offered = {**offered_first}
    for more in (offered_second, offered_third):
        for device, ids in more.items():
            offered.setdefault(device, []).extend(ids)
    assert sorted(offered) == sorted([DEVICE, DEVICE2])
    assert sorted(i for ids in offered.values() for i in ids) == [first, second]
    one = offered[DEVICE][0]
    await take(stream, MGR1, DEVICE, one)
    # Holding a job it has not started, a device of a shared queue takes no other.
    other = third if one != third else second
    refused = await stream.refused(MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=other))
    assert refused.status == NotFetchable.status and "has not started" in refused.message
    # Its job starts printing: it is offered the next waiting job at once, to have it
    # ready when this one ends.
    _, pushes = await stream.iq(
        MGR1,
        d.UpdateJobState(output_device_uuid=DEVICE, job_id=one, job_state=JobState.PROCESSING),
    )
    assert offers(pushes) == {DEVICE: [third]}


async def test_a_job_only_one_device_can_print_goes_to_that_device(stream: Stream) -> None:
    await two_devices(stream, caps=(MONO, COLOR))
    job_id, offered = await print_job(stream, JobTicket(print_color_mode="color"))
    assert offered == {DEVICE2: [job_id]}
    refused = await stream.refused(MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
    assert refused.status == NotFetchable.status and "print-color-mode=color" in refused.message
    listed, _ = await stream.iq(MGR1, d.GetFetchableJobs(output_device_uuid=DEVICE), "get")
    assert d.GetFetchableJobsResponse.from_xml(listed[0]).job == []
    # The queue offers what one of its devices can do.
    queue = await stream.ctx.queues.get("office")
    assert queue is not None
    assert queue.capabilities.print_color_mode_supported == ["monochrome", "color"]


async def test_a_paused_device_is_offered_nothing_and_its_queue_goes_on(stream: Stream) -> None:
    await two_devices(stream)
    answer, _ = await stream.iq(OPERATOR, a.PauseDevice(printer_name="office"))
    assert a.DeviceResponse.from_xml(answer[0]).device.device_paused is True
    job_id, offered = await print_job(stream)
    assert offered == {DEVICE2: [job_id]}
    refused = await stream.refused(MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
    assert refused.status == NotFetchable.status and "paused" in refused.message
    state = await stream.ctx.queue_states.get("office")
    assert state.hands_out_work  # the queue itself is not paused
    await stream.iq(OPERATOR, a.ResumeDevice(printer_name="office"))
    # Offered work again: the next job (the first is still offered to the other device).
    next_id, offered = await print_job(stream)
    assert offered == {DEVICE: [next_id]}


async def test_the_race_round_offers_a_waiting_job_to_every_free_device(
    stream: Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch, "RACE_DELAY", 0.05)
    await two_devices(stream)
    job_id, offered = await print_job(stream)
    assert len(offered) == 1  # one device first
    (first,) = offered
    mark = stream.mark()
    # Nobody takes it: once the timer fires, every free device is offered it.
    for _ in range(100):
        later = offers(await stream.since(mark))
        if later:
            break
        await asyncio.sleep(0.02)
    assert later == {DEVICE: [job_id], DEVICE2: [job_id]}
    # The one offered first takes it meanwhile; the other's acknowledgement is refused.
    other = DEVICE2 if first == DEVICE else DEVICE
    await take(stream, MGR1 if first == DEVICE else MGR2, first, job_id)
    lost = await stream.refused(
        MGR2 if first == DEVICE else MGR1,
        d.AcknowledgeJob(output_device_uuid=other, job_id=job_id, output_device_job_id=9),
    )
    assert lost.status == NotFetchable.status


async def test_administrators_add_a_device_to_a_queue_and_take_it_off(stream: Stream) -> None:
    await two_devices(stream)
    code = await enrollment_code(stream, "annex")
    await stream.iq(
        MGR1,
        d.RegisterDevice(output_device_uuid=DEVICE, printer_name="annex", enrollment_code=code),
    )
    assert set(await stream.ctx.queue_devices.queues_of(DEVICE)) == {"office", "annex"}
    answer, _ = await stream.iq(
        ADMIN, a.RemoveDeviceFromQueue(printer_name="annex", device_name="office")
    )
    assert a.DeviceResponse.from_xml(answer[0]).device.printer_names == ["office"]
    answer, _ = await stream.iq(
        ADMIN, a.AddDeviceToQueue(printer_name="annex", device_name="office-2")
    )
    shown = a.DeviceResponse.from_xml(answer[0]).device
    assert set(shown.printer_names or []) == {"office", "annex"}
    assert shown.device_name == "office-2"
    listed, _ = await stream.iq(OPERATOR, a.ListDevices(printer_name="annex"), "get")
    names = [x.device_name for x in a.ListDevicesResponse.from_xml(listed[0]).device]
    assert names == ["office-2"]
    # A queue served by two devices is no name for one of them.
    await stream.iq(ADMIN, a.AddDeviceToQueue(printer_name="annex", device_name="office"))
    ambiguous = await stream.refused(OPERATOR, a.GetDevice(printer_name="annex"))
    assert ambiguous.status == "client-error-not-possible" and "name one" in ambiguous.message


async def test_an_idle_device_is_preferred_to_one_that_is_printing(stream: Stream) -> None:
    await two_devices(stream)
    first, offered = await print_job(stream)
    ((busy, _ids),) = offered.items()
    sender, idle = (MGR1, DEVICE2) if busy == DEVICE else (MGR2, DEVICE)
    await take(stream, sender, busy, first)
    await stream.iq(
        sender,
        d.UpdateJobState(output_device_uuid=busy, job_id=first, job_state=JobState.PROCESSING),
    )
    for _ in range(3):  # whichever was given work last, the idle one gets it
        job_id, offered = await print_job(stream)
        assert offered == {idle: [job_id]}
        await take(stream, MGR1 if idle == DEVICE else MGR2, idle, job_id)
        await stream.iq(
            MGR1 if idle == DEVICE else MGR2,
            d.UpdateJobState(output_device_uuid=idle, job_id=job_id, job_state=JobState.COMPLETED),
        )
