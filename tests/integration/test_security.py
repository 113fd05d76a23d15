"""Who may do what: devices only touch their own queue's jobs, users only their own."""

from __future__ import annotations

import uuid

import pytest

from manager.drivers.sim import SimDriver
from stanzas import device_ops as ops
from stanzas.errors import NotAuthorized, NotPossible
from stanzas.registry import PAYLOADS
from stanzas.session import ServiceSession
from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE, WAIT


async def raw_session(harness: Harness, user: str) -> ServiceSession:
    settings = harness.client_settings(user)
    session = ServiceSession(
        settings.jid,
        settings.password,
        service_jid=settings.service_jid,
        host=settings.host,
        port=settings.port,
        ca_file=settings.ca_file,
    )
    await session.start()
    harness._stack.push_async_callback(session.stop)
    return session


async def test_a_device_cannot_list_fetch_or_update_another_devices_job(
    service, harness: Harness
) -> None:
    # office's device is offline, so its job stays fetchable; mgr2 serves another queue.
    office = harness.manager_settings("mgr1", "office")
    await (await harness.manager(SimDriver(), settings=office)).stop()
    await harness.manager(SimDriver(), account="mgr2", queue="elsewhere")
    alice = await harness.client("alice")
    job = await alice.print_files("office", [SAMPLE])

    intruder = await raw_session(harness, "mgr2")
    devices = await service.service.devices.list_all()
    mgr2_device = next(d for d in devices if d.printer_name == "elsewhere").output_device_uuid
    office_device = next(d for d in devices if d.printer_name == "office").output_device_uuid

    listed = await intruder.request(
        ops.GetFetchableJobs(output_device_uuid=mgr2_device), ops.GetFetchableJobsResponse
    )
    assert job.job_id not in [j.job_id for j in listed.job]
    attempts = [
        ops.GetFetchableJobs(output_device_uuid=office_device),
        ops.FetchJob(output_device_uuid=mgr2_device, job_id=job.job_id),
        ops.FetchJob(output_device_uuid=office_device, job_id=job.job_id),
        ops.AcknowledgeJob(
            output_device_uuid=mgr2_device, job_id=job.job_id, output_device_job_id=1
        ),
        ops.FetchDocument(output_device_uuid=mgr2_device, job_id=job.job_id, document_number=1),
        ops.UpdateJobState(
            output_device_uuid=mgr2_device, job_id=job.job_id, job_state=JobState.COMPLETED
        ),
        ops.UpdateJobState(
            output_device_uuid=office_device, job_id=job.job_id, job_state=JobState.COMPLETED
        ),
        ops.UpdateFetchableJobs(
            output_device_uuid=office_device,
            job=[ops.HeldJob(job_id=job.job_id, job_state=JobState.PROCESSING)],
        ),
        ops.DeregisterDevice(output_device_uuid=office_device),
        ops.RegisterDevice(output_device_uuid=office_device, printer_name="office"),
    ]
    for attempt in attempts:
        with pytest.raises(NotAuthorized):
            response_type = _response_type(attempt)
            await intruder.request(attempt, response_type)

    after = await alice.get_job(job.job_id)
    assert after.job_state == JobState.PENDING
    assert "job-fetchable" in after.job_state_reasons
    assert after.output_device_uuid is None


async def test_a_user_cannot_read_or_cancel_another_users_job(service, harness: Harness) -> None:
    await (await harness.manager(SimDriver())).stop()
    alice = await harness.client("alice")
    bob = await harness.client("bob")
    job = await alice.print_files("office", [SAMPLE])

    with pytest.raises(NotAuthorized):
        await bob.get_job(job.job_id)
    with pytest.raises(NotAuthorized):
        await bob.cancel_job(job.job_id)
    with pytest.raises(NotAuthorized):
        await bob.send_document(job.job_id, SAMPLE)
    assert (await alice.get_job(job.job_id)).job_state == JobState.PENDING

    # Operators and administrators may.
    operator = await harness.client("operator")
    assert (await operator.get_job(job.job_id)).job_id == job.job_id
    canceled = await operator.cancel_job(job.job_id)
    assert canceled.job_state == JobState.CANCELED
    assert "job-canceled-by-operator" in canceled.job_state_reasons
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.CANCELED


async def test_a_user_account_cannot_pose_as_a_registered_device(service, harness: Harness) -> None:
    await (await harness.manager(SimDriver())).stop()
    device = (await service.service.devices.list_all())[0].output_device_uuid
    mallory = await raw_session(harness, "bob")
    with pytest.raises(NotAuthorized):
        await mallory.request(
            ops.GetFetchableJobs(output_device_uuid=device), ops.GetFetchableJobsResponse
        )
    fresh = uuid.uuid4().urn
    # A new device from bob's account cannot take a queue another device serves.
    with pytest.raises(NotPossible):
        await mallory.request(
            ops.RegisterDevice(output_device_uuid=fresh, printer_name="office"),
            ops.RegisterDeviceResponse,
        )


def _response_type(request: ops.DeviceRequest) -> type:
    return PAYLOADS[request.ELEMENT + "Response"]
