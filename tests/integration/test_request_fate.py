"""What a request's end says, over a real Prosody and a real service process: how
Prosody bounces a request to a component that is not connected, and that a request in
flight to a service that dies ends at once (by the bounce of a later request or of the
session's probe, or by the restarted service's resync), not at its 30 s time-out."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from cirrus.stack import toml
from cirrus.stack.local import SERVICE_JID, SERVICE_READY
from cirrus.stack.process import ManagedProcess
from stanzas import device_ops as ops
from stanzas import session as session_module
from stanzas.errors import NotDelivered, OutcomeUnknown
from stanzas.session import ServiceSession
from tests.conftest import Harness, make_service_settings
from tests.integration.test_security import raw_session
from tests.raw_peer import RawPeer, condition

SOON = 5.0  # seconds: "at once", against the 30 s time-out


@pytest.fixture
async def service_process(harness: Harness) -> AsyncIterator[ManagedProcess]:
    """The service as its own process, so that it can be stopped and killed."""
    state = harness.tmp / "service-process"
    config = make_service_settings(state, harness.prosody).model_dump(mode="json")
    path = toml.write(state / "service.toml", config)
    process = ManagedProcess("service", "server", ["--config", str(path)], state / "log")
    await process.start(SERVICE_READY)
    try:
        yield process
    finally:
        await harness.close()
        await process.stop()


async def _through_prosody(session: ServiceSession) -> None:
    """Once the server answers a ping sent after our request, it has handled (forwarded)
    the request: one stream, in order."""
    await asyncio.sleep(0)  # the request's task runs up to its wait: it has been sent
    assert session._answers, "the request was not sent before the ping"
    await session.plugin["xep_0199"].ping(session.boundjid.domain, timeout=10)


async def _kill(process: ManagedProcess) -> None:
    process.kill()
    await process.wait()


async def test_prosody_bounces_a_request_to_a_disconnected_component_at_once(
    harness: Harness,
) -> None:
    # No service at all: its component is not connected.
    peer = RawPeer(await raw_session(harness, "bob"))
    answer = await peer.iq(SERVICE_JID, "<GetServices xmlns='urn:cirrus:cloud-imaging:1'/>")
    assert answer.get("type") == "error" and answer.get("from") == SERVICE_JID
    assert condition(answer) == "remote-server-timeout"  # Prosody 0.12, mod_component
    (error,) = (c for c in answer if c.tag.endswith("}error"))
    assert error.get("type") == "wait"
    assert error.find("{xmpp:prosody.im/protocol/component}not-connected") is not None

    alice = await harness.client("alice")
    started = time.monotonic()
    with pytest.raises(NotDelivered) as bounced:
        await alice.get_job(1)
    assert time.monotonic() - started < SOON
    assert bounced.value.delivered is False
    assert bounced.value.status == "server-error-service-unavailable"


async def test_a_request_in_flight_when_the_service_dies_ends_at_the_probes_bounce(
    service_process: ManagedProcess, harness: Harness
) -> None:
    alice = await harness.client("alice")
    assert service_process.pid is not None
    os.kill(service_process.pid, signal.SIGSTOP)  # it gets the request, and never answers
    pending = asyncio.create_task(alice.get_job(1))
    await _through_prosody(alice.session)
    started = time.monotonic()
    await _kill(service_process)
    with pytest.raises(OutcomeUnknown) as lost:
        await asyncio.wait_for(pending, SOON)
    assert time.monotonic() - started < SOON
    assert lost.value.delivered is None and "went away" in lost.value.message


async def test_a_later_requests_bounce_ends_the_ones_before_it(
    service_process: ManagedProcess, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "PROBE_AFTER", 3600.0)  # this test: the bounce only
    alice = await harness.client("alice")
    assert service_process.pid is not None
    os.kill(service_process.pid, signal.SIGSTOP)
    first = asyncio.create_task(alice.get_job(1))
    await _through_prosody(alice.session)
    await _kill(service_process)
    with pytest.raises(NotDelivered):
        await alice.list_queues()
    assert first.done()  # ended by that bounce, not by its time-out
    with pytest.raises(OutcomeUnknown):
        first.result()


async def test_the_restarted_services_resync_ends_requests_to_its_old_instance(
    service_process: ManagedProcess, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "PROBE_AFTER", 3600.0)  # this test: the resync only
    device = await raw_session(harness, "mgr1")
    uuid_urn = uuid.uuid4().urn
    registered = await device.request(
        ops.RegisterDevice(
            output_device_uuid=uuid_urn,
            printer_name="office",
            enrollment_code=await harness.enrollment_code("office"),
        ),
        ops.RegisterDeviceResponse,
    )
    assert registered.registration_state == "approved"
    assert service_process.pid is not None
    os.kill(service_process.pid, signal.SIGSTOP)
    pending = asyncio.create_task(
        device.request(
            ops.GetFetchableJobs(output_device_uuid=uuid_urn), ops.GetFetchableJobsResponse
        )
    )
    await _through_prosody(device)
    await _kill(service_process)
    await service_process.start(SERVICE_READY)  # it announces itself with a resync
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown, match="restarted") as lost:
        await asyncio.wait_for(pending, SOON)
    assert time.monotonic() - started < SOON
    assert lost.value.delivered is None
    # The new instance answers what is sent to it.
    answer = await device.request(
        ops.GetFetchableJobs(output_device_uuid=uuid_urn), ops.GetFetchableJobsResponse
    )
    assert answer.job == []
