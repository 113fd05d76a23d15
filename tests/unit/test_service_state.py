"""The service state table and the one function that applies it, on a real SQLite file
(a ServiceContext without XMPP: nothing is pushed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.config import Settings
from server.context import ServiceContext
from server.queues.states import SERVICE_TRANSITIONS, hands_out_work, settle_reasons
from server.stores.queue_states import QueueState
from stanzas.admin_ops import ServiceState
from stanzas.errors import NotPossible, ServiceUnavailable
from stanzas.states import JobState

IDLE, BUSY, STOP, DOWN = (
    ServiceState.IDLE,
    ServiceState.PROCESSING,
    ServiceState.STOPPED,
    ServiceState.DOWN,
)


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[ServiceContext]:
    settings = Settings.model_validate(
        {
            "xmpp": {"secret": "x"},
            "database": tmp_path / "service.db",
            "spool_dir": tmp_path / "spool",
        }
    )
    service = ServiceContext(settings, clock=lambda: 1000.0)
    await service.start()
    await service.queues.create("office", "print", 0)
    yield service
    await service.stop()


def test_the_table_leaves_down_only_through_idle() -> None:
    assert SERVICE_TRANSITIONS[DOWN] == {DOWN, IDLE}
    for state in (IDLE, BUSY, STOP):
        assert DOWN in SERVICE_TRANSITIONS[state]  # Shutdown: "from any state"
        assert state in SERVICE_TRANSITIONS[state]
    assert set(SERVICE_TRANSITIONS) == set(ServiceState)


def test_reasons_are_settled_for_the_state() -> None:
    assert settle_reasons(STOP, ["none"], add=["paused"]) == ("paused",)
    assert settle_reasons(IDLE, ["paused", "hold-new-jobs"]) == ("hold-new-jobs",)
    assert settle_reasons(BUSY, [], add=["moving-to-paused"]) == ("moving-to-paused",)
    assert settle_reasons(STOP, ["moving-to-paused"], add=["paused"]) == ("paused",)
    assert settle_reasons(DOWN, ["paused", "hold-new-jobs"], add=["shutdown"]) == (
        "hold-new-jobs",
        "shutdown",
    )
    assert settle_reasons(IDLE, ["shutdown"]) == ("none",)


def test_only_an_idle_or_processing_queue_not_pausing_hands_out_work() -> None:
    assert hands_out_work(IDLE, ["none"]) and hands_out_work(BUSY, ["hold-new-jobs"])
    assert not hands_out_work(BUSY, ["moving-to-paused"])
    assert not hands_out_work(STOP, ["paused"]) and not hands_out_work(DOWN, ["shutdown"])


async def test_a_queue_without_a_row_is_idle(svc: ServiceContext) -> None:
    assert await svc.queue_states.get("office") == QueueState("office")


async def test_change_checks_the_table_writes_and_tells_listeners_after_commit(
    svc: ServiceContext,
) -> None:
    heard: list[tuple[QueueState, QueueState]] = []
    svc.queue_states.listeners.append(lambda before, after: heard.append((before, after)))
    async with svc.db.transaction():
        down = await svc.queue_states.change("office", DOWN, reasons=["shutdown"], message="bye")
        assert heard == []  # not before the commit
    assert heard == [(QueueState("office"), down)]
    assert down.hands_out_work is False and down.time_state_changed == 1000
    assert await svc.queue_states.get("office") == down
    with pytest.raises(NotPossible):
        await svc.queue_states.change("office", STOP)
    with pytest.raises(ValueError):
        await svc.queue_states.change("office", IDLE, hands_out_work=True)
    with pytest.raises(ServiceUnavailable):
        await svc.queue_states.require_up("office")


async def test_a_rolled_back_change_is_not_heard(svc: ServiceContext) -> None:
    heard: list[object] = []
    svc.queue_states.listeners.append(lambda before, after: heard.append(after))
    with pytest.raises(RuntimeError):
        async with svc.db.transaction():
            await svc.queue_states.change("office", STOP, add=["paused"])
            raise RuntimeError
    assert heard == []
    assert (await svc.queue_states.get("office")).service_state == IDLE


async def test_pause_and_resume_follow_the_jobs_at_the_device(svc: ServiceContext) -> None:
    states = svc.queue_states
    assert (await states.pause("office", None)).service_state == STOP  # nothing at the device
    assert (await states.resume("office", None)).service_state == IDLE
    job = await svc.jobs.insert(
        job_uuid="urn:uuid:11111111-1111-4111-8111-111111111111",
        printer_name="office",
        service_type="print",
        owner="alice@localhost",
        notify_jid=None,
        job_name="a",
        job_state=JobState.PENDING,
        job_state_reasons=("job-queued",),
        is_closed=True,
        output_device_uuid="urn:uuid:6f1c2a9e-3b7d-4c1e-9a55-0d2b8e4f7a10",
        time_at_creation=0,
    )
    pausing = await states.pause("office", "toner")
    assert pausing.service_state == BUSY and "moving-to-paused" in pausing.service_state_reasons
    assert pausing.hands_out_work is False
    await svc.job_states.change(job, JobState.COMPLETED)
    stopped = await states.settle_activity("office")
    assert stopped.service_state == STOP and stopped.service_state_reasons == ("paused",)
