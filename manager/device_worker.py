"""One device's side of the service: registration, resync, work notifications, the
device's status, and a JobRunner (manager/job_runner.py) for each job it works on.

The worker decides when a job is worked on (a notification, a resync, a retry after a
failure that passes) and settles what a previous run left half-done; the runner does
the job's steps. See docs/architecture.md ("Print at most once", "Resynchronisation").
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import aiohttp

from manager.drivers.base import DeviceDriver, DeviceRejected, DeviceUnreachable
from manager.held_jobs import HeldJob, HeldJobs
from manager.job_phase import Phase
from manager.job_runner import TRANSIENT, DeviceSide, JobRunner, Requester
from manager.status import capabilities_element, status_element
from manager.transform import Transformer, reachable
from stanzas import device_ops as ops
from stanzas.errors import CloudImagingError, NotAuthorized, NotFetchable, NotFound
from stanzas.model import Payload
from stanzas.states import ServiceType

log = logging.getLogger(__name__)
P = TypeVar("P", bound=Payload)


class DeviceWorker:
    def __init__(
        self,
        *,
        output_device_uuid: str,
        printer_name: str,
        driver: DeviceDriver,
        session: Requester,
        held: HeldJobs,
        spool_dir: Path,
        http_ssl: ssl.SSLContext | None,
        printer_info: str | None = None,
        printer_location: str | None = None,
        status_interval: float = 2.0,
        device_hold: float = 2.0,
        service_type: ServiceType = ServiceType.PRINT,
        transformer: Transformer | None = None,
    ) -> None:
        self.uuid = output_device_uuid
        self.service_type = service_type
        self.printer_name = printer_name
        self.driver = driver
        self.session = session
        self.held = held
        self.spool_dir = spool_dir
        self.http_ssl = http_ssl
        self.printer_info = printer_info
        self.printer_location = printer_location
        self.status_interval = status_interval
        self.side = DeviceSide(
            output_device_uuid=output_device_uuid,
            driver=driver,
            session=session,
            held=held,
            spool_dir=spool_dir,
            status_interval=status_interval,
            device_hold=device_hold,
            transformer=transformer,
        )
        self.registered = asyncio.Event()
        self.device_answers = False  # the device answered its last status query (metrics)
        # Per job, only while it is worked on or waits for a retry (bounded by the jobs
        # in hand, never by the jobs seen: see tests/unit/test_device_worker.py).
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._runners: dict[int, JobRunner] = {}
        self._attempts: dict[int, int] = {}
        self._retries: dict[int, asyncio.TimerHandle] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._resync_lock = asyncio.Lock()
        self._resync_waiting = False  # a spawned resync has not started yet
        self._monitor: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()
        self.idle.set()

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        await self.driver.start()
        self.side.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.http_ssl if self.http_ssl else False),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60),
        )
        self._monitor = asyncio.create_task(self._watch_device())

    async def stop(self) -> None:
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        tasks = [
            t for t in (*self._jobs.values(), *self._background, self._monitor) if t is not None
        ]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._jobs.clear()
        if self.side.http is not None:
            await self.side.http.close()
        await self.driver.close()

    async def call(self, payload: Payload, response_type: type[P]) -> P:
        return await self.session.request(payload, response_type)

    # --- registration and resync (on every connect, and when the service asks) ----------
    async def register(self) -> ops.RegisterDeviceResponse:
        status = await self.driver.get_status()
        capabilities = await self.driver.get_capabilities()
        self.side.printer = status
        self.side.capabilities = capabilities
        advertised = capabilities
        if self.side.transformer is not None:  # the queue's real reach
            advertised = replace(
                advertised,
                document_format_supported=reachable(capabilities.document_format_supported),
            )
        response = await self.call(
            ops.RegisterDevice(
                output_device_uuid=self.uuid,
                service_type=self.service_type,
                printer_name=self.printer_name,
                printer_info=self.printer_info or capabilities.printer_info or None,
                printer_location=self.printer_location,
                capabilities=capabilities_element(advertised),
                status=status_element(status),
            ),
            ops.RegisterDeviceResponse,
        )
        self.registered.set()
        return response

    async def resync(self) -> None:
        """UpdateFetchableJobs, then act on what the service says (seed 001)."""
        async with self._resync_lock:
            self._resync_waiting = False  # what is asked for from now on needs another
            await self._settle_interrupted()
            self.side.listing_done.clear()
            try:
                # A job whose record is still being written must be listed, or the
                # service would take it back while the job goes on.
                await self.held.synced()
                # Every held job, `created` ones too: those left are being acknowledged
                # right now (the others were just settled), and one the service bound
                # but did not see listed would go back to the fetchable list under the
                # runner's feet (issue 11, defect 3).
                listed = [_listed(h) for h in self.held.for_device(self.uuid)]
                response = await self.call(
                    ops.UpdateFetchableJobs(output_device_uuid=self.uuid, job=listed),
                    ops.UpdateFetchableJobsResponse,
                )
            finally:
                self.side.listing_done.set()
            for job_id in response.cancel_job_ids:
                await self.cancel(job_id)
            for held_job in self.held.for_device(self.uuid):
                self.start_job(held_job.job_id)
            for job_id in response.fetchable_job_ids:
                self.start_job(job_id)

    async def _quiet_resync(self) -> None:
        try:
            await self.resync()
        except (CloudImagingError, DeviceUnreachable) as exc:
            log.warning("resync failed (%s); the next connect or notification retries it", exc)

    async def _settle_interrupted(self) -> None:
        """Let a runner settle each job a previous run left half-done."""
        for job in self.held.for_device(self.uuid):
            if job.job_id in self._runners or job.phase not in (Phase.CREATED, Phase.SENDING):
                continue
            runner = self._runners[job.job_id] = JobRunner(self.side, job.job_id)
            try:
                await runner.settle()
            finally:
                del self._runners[job.job_id]
                self._forget_if_done(job.job_id)

    # --- work notifications ------------------------------------------------------------
    async def on_notification(self, note: ops.WorkNotification) -> None:
        for job_id in note.cancel_job_ids:
            await self.cancel(job_id)
        if note.identify_actions is not None:
            try:
                await self.driver.identify(note.identify_actions, note.identify_message)
            except (DeviceRejected, DeviceUnreachable) as exc:
                log.warning("the device could not identify itself: %s", exc)
        for job_id in note.suspend_job_ids:
            await self._device_call(job_id, self.driver.suspend_job)
        for job_id in note.resume_job_ids:
            await self._device_call(job_id, self.driver.resume_job)
        if note.resync:
            await self.resync()
        for job_id in note.fetchable_job_ids:
            self.start_job(job_id)

    async def _device_call(self, job_id: int, action: Callable[[int], Awaitable[None]]) -> None:
        held = self.held.get(job_id)
        if held is None or held.device_job_id is None:
            return
        try:
            await action(held.device_job_id)
        except (DeviceRejected, DeviceUnreachable) as exc:
            log.warning("job %s: the device did not %s it: %s", job_id, action.__name__, exc)

    async def cancel(self, job_id: int) -> None:
        """The service asks to cancel a job (remote state); the device job is canceled,
        and the runner stops before its next step."""
        held = self.held.get(job_id)
        if held is None and job_id not in self._runners:
            return  # not ours (any more): nothing to stop
        self.side.cancels.add(job_id)
        if held is not None and held.device_job_id is not None:
            with contextlib.suppress(DeviceUnreachable, DeviceRejected):
                await self.driver.cancel_job(held.device_job_id)

    # --- running jobs ------------------------------------------------------------------
    def start_job(self, job_id: int) -> None:
        if job_id in self._runners:
            return
        self.idle.clear()
        runner = self._runners[job_id] = JobRunner(self.side, job_id)
        task = asyncio.create_task(self._run(runner))
        self._jobs[job_id] = task
        task.add_done_callback(functools.partial(self._job_done, job_id))

    def _job_done(self, job_id: int, _task: asyncio.Task[None]) -> None:
        self._jobs.pop(job_id, None)
        self._runners.pop(job_id, None)
        self._forget_if_done(job_id)
        if not self._jobs:
            self.idle.set()

    def _forget_if_done(self, job_id: int) -> None:
        """Drop what is kept about a job that is neither held, worked on nor waiting."""
        if job_id in self._runners or job_id in self._retries:
            return
        self._attempts.pop(job_id, None)
        if self.held.get(job_id) is None:
            self.side.cancels.discard(job_id)

    async def _run(self, runner: JobRunner) -> None:
        job_id = runner.job_id
        try:
            await runner.run()
        except (NotFetchable, NotFound) as exc:
            log.info("job %s: %s", job_id, exc)
        except NotAuthorized as exc:
            log.warning("job %s: %s", job_id, exc)
        except CloudImagingError as exc:
            if exc.status in TRANSIENT:
                self._retry_later(job_id, f"{exc.status} {exc.message}")
            else:
                log.warning("job %s: %s %s", job_id, exc.status, exc.message)
        except DeviceUnreachable as exc:
            self._retry_later(job_id, f"device unreachable: {exc}")
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("job %s failed in the manager", job_id)

    def _retry_later(self, job_id: int, why: str) -> None:
        """Try the job again after a growing delay (0.5 s doubling up to a minute); what
        was already done is in the held-jobs file, so the retry picks up where it stopped."""
        attempt = self._attempts.get(job_id, 0) + 1
        self._attempts[job_id] = attempt
        delay = min(60.0, 0.5 * 2 ** (attempt - 1))
        log.warning("job %s paused (%s); retrying in %.1f s", job_id, why, delay)
        self._retries[job_id] = asyncio.get_running_loop().call_later(
            delay, self._retry_now, job_id
        )

    def _retry_now(self, job_id: int) -> None:
        self._retries.pop(job_id, None)
        held = self.held.get(job_id)
        if held is not None and held.phase in (Phase.CREATED, Phase.SENDING):
            self._forget_if_done(job_id)
            self.spawn_resync()  # a half-done job is settled by the resync, not retried
        else:
            self.start_job(job_id)

    def spawn_resync(self) -> None:
        """Resync soon. One that has not started yet covers every later request: when
        the service goes away, each job it cut off asks for one at about the same time."""
        if self._resync_waiting:
            return
        self._resync_waiting = True
        task = asyncio.create_task(self._quiet_resync())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- device state --------------------------------------------------------------
    async def _watch_device(self) -> None:
        while True:
            try:
                status = await self.driver.get_status()
                self.device_answers = True
                if status != self.side.printer and self.registered.is_set():
                    self.side.printer = status
                    await self.call(
                        ops.UpdateServiceState(
                            output_device_uuid=self.uuid, status=status_element(status)
                        ),
                        ops.UpdateServiceStateResponse,
                    )
            except DeviceUnreachable as exc:
                self.device_answers = False
                log.debug("device status not reported: %s", exc)
            except CloudImagingError as exc:
                log.debug("device status not reported: %s", exc)
            await self.driver.wait_for_change(self.status_interval)


def _listed(held: HeldJob) -> ops.HeldJob:
    return ops.HeldJob(
        job_id=held.job_id,
        job_state=held.last_state,
        job_state_reasons=list(held.last_reasons),
        output_device_job_id=held.device_job_id,
    )
