"""Device enrolment (issue 11, defect 2): with auto-approval on, an ordinary account's
RegisterDevice used to be approved and create the queue it named, after which its own
client operations were refused ("a device account"). Now only an enrolment code an
administrator issued (single use, expiring, bound to a queue, stored hashed), a
trusted party, or an administrator's approval puts a device in a queue; anything else
is a request that waits and creates nothing a user can see."""

from __future__ import annotations

import time

from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.errors import NotPossible
from stanzas.states import RegistrationState
from tests.handlers.conftest import DEVICE, DEVICE2, create_job, enrollment_code
from tests.handlers.stream import ADMIN, ALICE, BOB, MGR1, MGR2, Stream

THIRD = "urn:uuid:5b1e9c77-2a4d-4e8f-b3c6-7d8e9f0a1b2c"


async def registered(stream: Stream, sender: str, **fields: object) -> d.RegisterDeviceResponse:
    answer, _ = await stream.iq(sender, d.RegisterDevice(**fields))  # type: ignore[arg-type]
    assert answer.get("type") == "result", answer
    return d.RegisterDeviceResponse.from_xml(answer[0])


async def services(stream: Stream, sender: str) -> list[str]:
    answer, _ = await stream.iq(sender, c.GetServices(), "get")
    response = c.GetServicesResponse.from_xml(answer[0])
    return [s.description.printer_name for s in response.service if s.description]


async def test_an_ordinary_accounts_registration_with_auto_approval_creates_nothing(
    stream: Stream,
) -> None:
    """Fails before enrolment codes: the queue appeared, the device was approved, and
    bob could no longer print."""
    assert stream.ctx.settings.auto_approve_devices is True
    before = await services(stream, ALICE)
    answer = await registered(stream, BOB, output_device_uuid=DEVICE, printer_name="lobby")
    assert answer.registration_state == RegistrationState.PENDING
    assert answer.registration_state_message and "waits for an administrator" in (
        answer.registration_state_message
    )
    assert await services(stream, ALICE) == before  # no queue a user can see
    assert await stream.ctx.queues.get("lobby") is None
    rows = await stream.ctx.db.fetchall("SELECT * FROM service_states WHERE printer_name = 'lobby'")
    assert rows == []
    devices = await stream.ctx.devices.list_all()
    assert [dv.registration_state for dv in devices] == [RegistrationState.PENDING]
    assert await stream.ctx.queue_devices.queues_of(DEVICE) == ()
    # bob is still a user: his own client operations go on.
    answer, _ = await stream.iq(BOB, c.GetServices(), "get")
    assert answer.get("type") == "result"
    # The device can do nothing a device does.
    refused = await stream.refused(BOB, d.GetFetchableJobs(output_device_uuid=DEVICE))
    assert refused.status == "client-error-not-authorized"


async def test_a_code_enrols_one_device_once_in_its_own_queue(stream: Stream) -> None:
    code = await enrollment_code(stream, "lobby")
    joined = await registered(
        stream, MGR1, output_device_uuid=DEVICE, printer_name="lobby", enrollment_code=code
    )
    assert joined.registration_state == RegistrationState.APPROVED
    assert await stream.ctx.queue_devices.queues_of(DEVICE) == ("lobby",)
    assert "lobby" in await services(stream, ALICE)
    await create_job(stream, ALICE, "lobby")
    # Reconnecting with the used code in its config: it is known, nothing changes.
    again = await registered(
        stream, MGR1, output_device_uuid=DEVICE, printer_name="lobby", enrollment_code=code
    )
    assert again.registration_state == RegistrationState.APPROVED
    # The same code from another device: used up.
    other = await registered(
        stream, MGR2, output_device_uuid=DEVICE2, printer_name="annex", enrollment_code=code
    )
    assert other.registration_state == RegistrationState.PENDING
    assert other.registration_state_message and "not valid" in other.registration_state_message
    assert await stream.ctx.queues.get("annex") is None
    # Stored hashed: the code itself is nowhere in the database.
    rows = await stream.ctx.db.fetchall("SELECT * FROM enrollment_codes")
    assert len(rows) == 1 and code not in str([tuple(r) for r in rows])
    assert code.replace("-", "") not in str([tuple(r) for r in rows])


async def test_a_code_is_for_its_queue_and_expires(stream: Stream) -> None:
    for_lobby = await enrollment_code(stream, "lobby")
    wrong = await registered(
        stream, MGR1, output_device_uuid=DEVICE, printer_name="annex", enrollment_code=for_lobby
    )
    assert wrong.registration_state == RegistrationState.PENDING
    assert await stream.ctx.queues.get("annex") is None
    short, _ = await stream.iq(
        ADMIN, a.IssueEnrollmentCode(printer_name="annex", time_expires=int(time.time()) + 60)
    )
    code = a.IssueEnrollmentCodeResponse.from_xml(short[0]).enrollment_code
    real = stream.ctx.clock
    stream.ctx.clock = lambda: real() + 120  # two minutes later
    late = await registered(
        stream, MGR2, output_device_uuid=DEVICE2, printer_name="annex", enrollment_code=code
    )
    assert late.registration_state == RegistrationState.PENDING
    assert await stream.ctx.queue_devices.queues_of(DEVICE2) == ()
    stream.ctx.clock = real
    past = await stream.refused(
        ADMIN, a.IssueEnrollmentCode(printer_name="annex", time_expires=int(time.time()) - 1)
    )
    assert past.status == "client-error-attributes-or-values-not-supported"


async def test_a_served_queue_takes_a_code_and_requests_are_bounded(stream: Stream) -> None:
    code = await enrollment_code(stream, "office")
    await registered(
        stream, MGR1, output_device_uuid=DEVICE, printer_name="office", enrollment_code=code
    )
    # Without a code nobody joins a queue another device serves.
    intruder = await stream.refused(
        BOB, d.RegisterDevice(output_device_uuid=DEVICE2, printer_name="office")
    )
    assert intruder.status == NotPossible.status
    # With one, a second device joins it (fan-out).
    second = await enrollment_code(stream, "office")
    joined = await registered(
        stream, MGR2, output_device_uuid=DEVICE2, printer_name="office", enrollment_code=second
    )
    assert joined.registration_state == RegistrationState.APPROVED
    assert joined.device_name == "office-2"  # named after the queue, made unique
    assert set(await stream.ctx.queue_devices.devices_of("office")) == {DEVICE, DEVICE2}
    # An account may leave at most two requests waiting.
    for n, queue in enumerate(("q1", "q2")):
        uuid = f"urn:uuid:5b1e9c77-2a4d-4e8f-b3c6-7d8e9f0a1b2{n}"
        waiting = await registered(stream, BOB, output_device_uuid=uuid, printer_name=queue)
        assert waiting.registration_state == RegistrationState.PENDING
    third = await stream.refused(BOB, d.RegisterDevice(output_device_uuid=THIRD, printer_name="q3"))
    assert third.status == NotPossible.status


async def test_approving_a_request_makes_its_queue(stream: Stream) -> None:
    await registered(stream, BOB, output_device_uuid=DEVICE, printer_name="lobby")
    answer, _ = await stream.iq(ADMIN, a.ApproveDevice(printer_name="lobby"))
    approved = a.DeviceResponse.from_xml(answer[0]).device
    assert approved.registration_state == RegistrationState.APPROVED
    assert await stream.ctx.queue_devices.queues_of(DEVICE) == ("lobby",)
    assert "lobby" in await services(stream, ALICE)
    # bob's account is a device's now: its client operations are refused.
    refused = await stream.refused(BOB, c.GetServices())
    assert refused.status == "client-error-not-authorized"
