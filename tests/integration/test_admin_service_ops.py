"""Seed 001 Table 2 (one service's administration) against a real Prosody, service and
manager: each test is named after the MUST rule it observes."""

from __future__ import annotations

import pytest

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.errors import (
    AttributesNotSupported,
    NotAcceptingJobs,
    NotAuthorized,
    NotFetchable,
    NotFound,
    NotPossible,
    ServiceUnavailable,
)
from stanzas.groups import JobTicket
from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration.admin_support import (
    WAIT,
    QueueWatch,
    admin_client,
    device_of,
    fetchable,
    pause,
    reasons,
    resume,
)
from tests.integration.test_print_flow import SAMPLE, states_until


async def test_pause_stops_at_once_hands_out_nothing_and_still_accepts_jobs(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    manager = await harness.manager(sim)
    operator = await admin_client(harness)
    alice = await harness.client("alice")

    paused = await pause(operator)
    assert paused.service_state == a.ServiceState.STOPPED
    assert reasons(paused) == {"paused"}
    # "The Service MUST still accept CreateJob operations" while paused.
    job = await alice.print_files("office", [SAMPLE])
    assert job.job_state == JobState.PENDING
    # Lazy evaluation: a pending job of a stopped service reads 'stopped' (printer-stopped).
    assert "printer-stopped" in (await alice.get_job(job.job_id)).job_state_reasons
    listed = await alice.get_jobs(queue="office")
    assert "printer-stopped" in listed[0].job_state_reasons
    # "MUST NOT advance any Job to Processing": nothing is offered or handed to the device.
    assert await fetchable(harness, manager) == []
    mgr = (await harness.client("mgr1")).session
    with pytest.raises(NotFetchable):
        await mgr.request(
            d.FetchJob(output_device_uuid=device_of(manager), job_id=job.job_id),
            d.FetchJobResponse,
        )
    assert sim.jobs == {}
    # Pause is accepted in any state, so a second one is no error.
    assert (await pause(operator)).service_state == a.ServiceState.STOPPED

    resumed = await resume(operator)
    assert resumed.service_state in (a.ServiceState.IDLE, a.ServiceState.PROCESSING)
    assert "paused" not in reasons(resumed)
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)
    assert final.job_state == JobState.COMPLETED
    assert "printer-stopped" not in final.job_state_reasons


@pytest.mark.parametrize("operation", [a.PauseService, a.PauseServiceAfterCurrentJob])
async def test_pause_with_a_job_at_the_device_is_moving_to_paused_until_it_ends(
    service: ServiceApp, harness: Harness, operation: type[a.ServiceRequest]
) -> None:
    sim = SimDriver()
    sim.stop("media-empty", "Tray 1 is empty")  # a job reaches the device and waits there
    await harness.manager(sim)
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    watch = QueueWatch(service)

    first = await alice.print_files("office", [SAMPLE])
    await states_until(alice, first.job_id, lambda s: s.output_device_uuid is not None)
    await watch.until("office", lambda s: s.service_state == a.ServiceState.PROCESSING)

    pausing = (await operator.call(operation(printer_name="office"), a.ServiceResponse)).service
    # "the Service may remain in the 'Processing' state but MUST add 'MovingToPaused'"
    assert pausing.service_state == a.ServiceState.PROCESSING
    assert "moving-to-paused" in reasons(pausing)
    second = await alice.print_files("office", [SAMPLE])

    sim.resume()  # the current job completes ("MUST complete the processing of the current Jobs")
    assert (await alice.wait_for_final(first.job_id, timeout=WAIT)).job_state == JobState.COMPLETED
    # "When the Service transitions to 'Stopped', it removes 'MovingToPaused', adds 'Paused'"
    stopped = await watch.until("office", lambda s: s.service_state == a.ServiceState.STOPPED)
    assert set(stopped.service_state_reasons) == {"paused"}
    waiting = await alice.get_job(second.job_id)
    assert waiting.job_state == JobState.PENDING and waiting.output_device_uuid is None
    assert [j.name for j in sim.jobs.values()] == [first.job_name]

    await resume(operator)
    assert (await alice.wait_for_final(second.job_id, timeout=WAIT)).job_state == JobState.COMPLETED
    watch.close()


async def test_disable_negates_is_accepting_jobs_and_enable_asserts_it(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    before = await operator.service("office")

    disabled = (
        await operator.call(a.DisableService(printer_name="office"), a.ServiceResponse)
    ).service
    assert disabled.is_accepting_jobs is False
    assert disabled.service_state == before.service_state  # "no effect upon the Service State"
    with pytest.raises(NotAcceptingJobs):  # Create<Service>Job "MUST fail"
        await alice.create_job("office")
    # "The Service is still able to process operations other than Create<Service>Job."
    assert (await operator.service("office")).is_accepting_jobs is False

    enabled = (
        await operator.call(a.EnableService(printer_name="office"), a.ServiceResponse)
    ).service
    assert enabled.is_accepting_jobs is True
    job = await alice.print_files("office", [SAMPLE])
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED


async def test_hold_new_jobs_holds_only_new_jobs_and_release_new_jobs_releases_them(
    service: ServiceApp, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver(), queue="office")
    await manager.stop()  # no device: jobs stay where the service puts them
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    earlier = await alice.print_files("office", [SAMPLE])

    held_queue = (
        await operator.call(a.HoldNewJobs(printer_name="office"), a.ServiceResponse)
    ).service
    assert "hold-new-jobs" in reasons(held_queue)
    assert held_queue.hold_new_jobs_until == "indefinite"
    new = await alice.print_files("office", [SAMPLE])
    own = await alice.print_files("office", [SAMPLE], ticket=JobTicket(job_hold_until="indefinite"))
    # New jobs: PendingHeld "with a JobHoldUntil … Job Processing Element added".
    held = await alice.get_job_elements(new.job_id)
    assert held.job.job_state == JobState.PENDING_HELD
    assert "job-hold-until-specified" in held.job.job_state_reasons
    assert held.job.job_ticket is not None and held.job.job_ticket.job_hold_until == "indefinite"
    # Jobs accepted before the condition go on.
    assert (await alice.get_job(earlier.job_id)).job_state == JobState.PENDING
    assert await fetchable(harness, manager) == [earlier.job_id]

    released = (
        await operator.call(a.ReleaseNewJobs(printer_name="office"), a.ServiceResponse)
    ).service
    assert "hold-new-jobs" not in reasons(released)
    again = await alice.get_job(new.job_id)
    assert again.job_state == JobState.PENDING
    assert "job-hold-until-specified" not in again.job_state_reasons
    # Only jobs the condition held are released; a job its owner held stays held.
    assert (await alice.get_job(own.job_id)).job_state == JobState.PENDING_HELD
    assert await fetchable(harness, manager) == [earlier.job_id, new.job_id]
    # Both ways round must be answered in any state: releasing again is no error.
    await operator.call(a.ReleaseNewJobs(printer_name="office"), a.ServiceResponse)


async def test_hold_new_jobs_until_a_time_releases_them_at_that_time(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    until = service.service.now() + 3
    with pytest.raises(AttributesNotSupported):  # JobHoldUntil | JobHoldUntilTime
        await operator.call(
            a.HoldNewJobs(
                printer_name="office", job_hold_until="indefinite", job_hold_until_time=until
            ),
            a.ServiceResponse,
        )
    with pytest.raises(AttributesNotSupported):  # named periods need a site calendar
        await operator.call(
            a.HoldNewJobs(printer_name="office", job_hold_until="weekend"), a.ServiceResponse
        )
    summary = (
        await operator.call(
            a.HoldNewJobs(printer_name="office", job_hold_until_time=until), a.ServiceResponse
        )
    ).service
    assert summary.hold_new_jobs_until_time == until
    job = await alice.create_job("office")
    assert job.job_state == JobState.PENDING_HELD
    await alice.send_document(job.job_id, SAMPLE)
    final = await alice.wait_for_final(job.job_id, timeout=WAIT)  # released at `until`
    assert final.job_state == JobState.COMPLETED
    assert service.service.now() >= until
    assert "hold-new-jobs" not in reasons(await operator.service("office"))


async def test_promote_job_schedules_next_or_after_a_predecessor(
    service: ServiceApp, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver())
    await manager.stop()  # no device takes anything: the order stays visible
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    j1 = await alice.print_files("office", [SAMPLE])
    j2 = await alice.print_files("office", [SAMPLE])
    j3 = await alice.print_files("office", [SAMPLE], ticket=JobTicket(job_priority=80))
    j4 = await alice.print_files("office", [SAMPLE])
    ids = [j1.job_id, j2.job_id, j3.job_id, j4.job_id]
    # job-priority first, then arrival.
    assert await fetchable(harness, manager) == [ids[2], ids[0], ids[1], ids[3]]

    promoted = await operator.call(a.PromoteJob(job_id=ids[3]), a.PromoteJobResponse)
    assert promoted.scheduled_job_ids == [ids[3], ids[2], ids[0], ids[1]]
    # The last Promote accepted is processed next.
    await operator.call(a.PromoteJob(job_id=ids[1]), a.PromoteJobResponse)
    assert await fetchable(harness, manager) == [ids[1], ids[3], ids[2], ids[0]]
    # With a predecessor: immediately after it (IPP Schedule-Job-After).
    after = await operator.call(
        a.PromoteJob(job_id=ids[0], predecessor_job_id=ids[1]), a.PromoteJobResponse
    )
    assert after.scheduled_job_ids == [ids[1], ids[0], ids[3], ids[2]]
    assert await fetchable(harness, manager) == after.scheduled_job_ids
    assert [j.job_id for j in await alice.get_jobs(queue="office")] == after.scheduled_job_ids

    # "The identified target Job must be in the 'Pending' state" …
    held = await alice.print_files(
        "office", [SAMPLE], ticket=JobTicket(job_hold_until="indefinite")
    )
    with pytest.raises(NotPossible):
        await operator.call(a.PromoteJob(job_id=held.job_id), a.PromoteJobResponse)
    # … and a predecessor 'Pending', 'Processing' or 'ProcessingStopped'.
    await alice.cancel_job(ids[2])
    with pytest.raises(NotPossible):
        await operator.call(
            a.PromoteJob(job_id=ids[3], predecessor_job_id=ids[2]), a.PromoteJobResponse
        )
    with pytest.raises(NotFound):
        await operator.call(a.PromoteJob(job_id=9999), a.PromoteJobResponse)


async def test_cancel_jobs_is_all_or_nothing_and_names_the_jobs_it_could_not_cancel(
    service: ServiceApp, harness: Harness
) -> None:
    for queue in ("office", "lobby"):
        await (await harness.manager(SimDriver(), queue=queue)).stop()
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    j1 = await alice.print_files("office", [SAMPLE])
    j2 = await alice.print_files("office", [SAMPLE])
    elsewhere = await alice.print_files("lobby", [SAMPLE])

    with pytest.raises(NotFound) as refused:
        await operator.call(
            a.CancelJobs(printer_name="office", job_ids=[j1.job_id, elsewhere.job_id, 9999]),
            a.CancelJobsResponse,
        )
    assert refused.value.job_ids == [elsewhere.job_id, 9999]
    # "MUST NOT cancel any Jobs"
    assert (await alice.get_job(j1.job_id)).job_state == JobState.PENDING

    done = await alice.cancel_job(j1.job_id)  # already ended: no obstacle when named
    assert done.job_state == JobState.CANCELED
    named = await operator.call(
        a.CancelJobs(printer_name="office", job_ids=[j1.job_id, j2.job_id]), a.CancelJobsResponse
    )
    assert named.job_ids == [j2.job_id]
    canceled = await alice.get_job(j2.job_id)
    assert canceled.job_state == JobState.CANCELED
    assert "job-canceled-by-operator" in canceled.job_state_reasons

    # Without JobIds: every job of the service that has not ended (and no other service's).
    j3 = await alice.print_files("office", [SAMPLE])
    j4 = await alice.print_files("office", [SAMPLE])
    every = await operator.call(a.CancelJobs(printer_name="office"), a.CancelJobsResponse)
    assert every.job_ids == [j3.job_id, j4.job_id]
    assert (await alice.get_job(elsewhere.job_id)).job_state == JobState.PENDING


async def test_shutdown_answers_only_restart_keeps_the_jobs_and_restart_brings_it_back(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    await harness.manager(sim)
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    await pause(operator)
    job = await alice.print_files("office", [SAMPLE])

    down = (
        await operator.call(
            a.ShutdownService(service_type=a.AnyServiceType.PRINT, printer_name="office"),
            a.ServiceResponse,
        )
    ).service
    assert down.service_state == a.ServiceState.DOWN
    assert reasons(down) == {"shutdown"}
    # "Once down, the Service will no longer respond to any Client requests other than
    # Restart<Service>Service."
    with pytest.raises(ServiceUnavailable):
        await alice.create_job("office")
    with pytest.raises(ServiceUnavailable):
        await alice.get_job(job.job_id)
    for request in (a.ResumeService(printer_name="office"), a.HoldNewJobs(printer_name="office")):
        with pytest.raises(ServiceUnavailable):
            await operator.call(request, a.ServiceResponse)
    # "all Jobs MUST be preserved"
    kept = await service.service.jobs.get(job.job_id)
    assert kept is not None and kept.job_state == JobState.PENDING

    # Restart: from any state "to the Idle state", StateReasons cleared, accepting jobs.
    restarted = (
        await operator.call(
            a.RestartService(service_type=a.AnyServiceType.PRINT, printer_name="office"),
            a.ServiceResponse,
        )
    ).service
    assert restarted.service_state in (a.ServiceState.IDLE, a.ServiceState.PROCESSING)
    assert reasons(restarted) == set()
    assert restarted.is_accepting_jobs is True
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED


async def test_restart_can_start_paused_or_not_accepting(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    operator = await admin_client(harness)
    paused = (
        await operator.call(
            a.RestartService(
                service_type=a.AnyServiceType.PRINT,
                printer_name="office",
                start_service_paused=True,
                is_accepting_jobs=False,
            ),
            a.ServiceResponse,
        )
    ).service
    # Table 3 notes 6-7: down → idle → stopped; IsAcceptingJobs false.
    assert paused.service_state == a.ServiceState.STOPPED
    assert reasons(paused) == {"paused"}
    assert paused.is_accepting_jobs is False


async def test_set_service_elements_is_atomic_validated_and_outlives_registration(
    service: ServiceApp, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver())
    admin = await admin_client(harness, "admin")
    before = await admin.service("office")

    # A read-only element and an unsupported value: the whole request fails, naming both.
    with pytest.raises(AttributesNotSupported) as refused:
        await admin.call(
            a.SetServiceElements(
                printer_name="office",
                description=a.DescriptionChange(
                    printer_location="Room 2.14", printer_make_and_model="Mine"
                ),
                default_job_ticket=JobTicket(print_color_mode="highlight"),
            ),
            a.ServiceResponse,
        )
    assert "printer-make-and-model" in refused.value.message
    assert "default-job-ticket.print-color-mode" in refused.value.message
    assert (await admin.service("office")).printer_location == before.printer_location
    for bad in (
        a.SetServiceElements(printer_name="office", status=a.ServiceStatus(printer_state="idle")),
        a.SetServiceElements(printer_name="office", delete_elements=["printer-name"]),
    ):
        with pytest.raises(AttributesNotSupported):
            await admin.call(bad, a.ServiceResponse)

    done = await admin.call(
        a.SetServiceElements(
            printer_name="office",
            description=a.DescriptionChange(printer_location="Room 2.14"),
            configuration=a.QueueConfiguration(document_retention="keep"),
            default_job_ticket=JobTicket(copies=2),
            device_policy=a.DevicePolicy(auto_approve_devices=False),
        ),
        a.ServiceResponse,
    )
    assert done.service.printer_location == "Room 2.14"
    assert done.configuration is not None
    assert done.configuration.document_retention == "keep"
    assert done.configuration.default_job_ticket == JobTicket(copies=2)
    assert done.device_policy == a.DevicePolicy(auto_approve_devices=False)
    # Only the named elements changed.
    assert done.service.printer_info == before.printer_info
    alice = await harness.client("alice")
    elements = await alice.get_service_elements("office")
    assert elements.default_job_ticket == JobTicket(copies=2)

    # A device registering again does not overwrite what an administrator set.
    await manager.stop()
    await harness.manager(SimDriver(), settings=manager.settings)
    assert (await admin.service("office")).printer_location == "Room 2.14"
    # An element named without a value is removed.
    cleared = await admin.call(
        a.SetServiceElements(printer_name="office", delete_elements=["printer-location"]),
        a.ServiceResponse,
    )
    assert cleared.service.printer_location is None


async def test_table_2_operations_are_reserved_to_operators_and_administrators(
    service: ServiceApp, harness: Harness
) -> None:
    await harness.manager(SimDriver())
    alice = await admin_client(harness, "alice")
    operator = await admin_client(harness, "operator")
    state = await service.service.queue_states.get("office")
    for request in (
        a.PauseService(printer_name="office"),
        a.DisableService(printer_name="office"),
        a.HoldNewJobs(printer_name="office"),
        a.CancelJobs(printer_name="office"),
        a.ShutdownService(service_type=a.AnyServiceType.PRINT, printer_name="office"),
    ):
        with pytest.raises(NotAuthorized):  # Note 2: "the Service MUST reject the request"
            await alice.call(request, a.ServiceResponse)
    # Configuration is for administrators only.
    with pytest.raises(NotAuthorized):
        await operator.call(
            a.SetServiceElements(
                printer_name="office", description=a.DescriptionChange(printer_info="x")
            ),
            a.ServiceResponse,
        )
    assert await service.service.queue_states.get("office") == state
    assert (await operator.service("office")).is_accepting_jobs is True


async def test_resume_job_resumes_a_suspended_job_for_an_operator(
    service: ServiceApp, harness: Harness
) -> None:
    """Table 2's Resume<Service>Job is Table 1's ResumeJob, open to operators."""
    sim = SimDriver(speed=600.0)  # prints for ten minutes: the job stays current
    await harness.manager(sim)
    alice = await harness.client("alice")
    operator = await admin_client(harness)
    job = await alice.print_files("office", [SAMPLE])
    await states_until(alice, job.job_id, lambda s: s.job_state == JobState.PROCESSING)
    await alice.suspend_current_job("office", job.job_id)
    await states_until(alice, job.job_id, lambda s: "job-suspended" in s.job_state_reasons)
    resumed = await operator.call(c.ResumeJob(job_id=job.job_id), c.JobResponse)
    assert "job-suspended" not in resumed.job.job_state_reasons
    # The device resumes it and reports it printing again.
    await states_until(
        alice,
        job.job_id,
        lambda s: s.job_state == JobState.PROCESSING and "job-suspended" not in s.job_state_reasons,
    )
    assert sim.jobs[1].state == "processing"


async def test_cancel_jobs_refuses_a_named_job_already_being_canceled_and_skips_it_otherwise(
    service: ServiceApp, harness: Harness
) -> None:
    sim = SimDriver()
    sim.stop("media-empty", "Tray 1 is empty")  # the job reaches the device, then waits
    manager = await harness.manager(sim)
    operator = await admin_client(harness)
    alice = await harness.client("alice")
    bound = await alice.print_files("office", [SAMPLE])
    await states_until(alice, bound.job_id, lambda s: s.output_device_uuid is not None)
    await manager.stop()  # the device cannot confirm the cancel: it stays requested
    requested = await alice.cancel_job(bound.job_id)
    assert "processing-to-stop-point" in requested.job_state_reasons
    other = await alice.print_files("office", [SAMPLE])

    with pytest.raises(NotPossible) as refused:
        await operator.call(
            a.CancelJobs(printer_name="office", job_ids=[bound.job_id, other.job_id]),
            a.CancelJobsResponse,
        )
    assert refused.value.job_ids == [bound.job_id]
    assert (await alice.get_job(other.job_id)).job_state == JobState.PENDING
    every = await operator.call(a.CancelJobs(printer_name="office"), a.CancelJobsResponse)
    assert every.job_ids == [other.job_id]
