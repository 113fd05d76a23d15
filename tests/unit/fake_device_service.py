"""The service's side of the device operations, in memory, for DeviceWorker tests.

It keeps to the binding rules of the real handlers (server/handlers/device_ops.py): a
job is fetchable while pending and bound to no device; AcknowledgeJob binds it;
FetchDocument, AcknowledgeDocument and UpdateJobState need it bound; the resync
(UpdateFetchableJobs) unbinds a bound job that is not listed and binds a listed
fetchable one. Each request is acted on when it arrives; `hold[type]` keeps its answer
on the way until the event is set (a request "in flight"), `fail[type]` fails the next
one before it is acted on.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stanzas import device_ops as ops
from stanzas.errors import CloudImagingError, NotFetchable, NotFound
from stanzas.groups import JobTicket, ServiceStatus
from stanzas.model import Payload
from stanzas.states import DocumentState, JobState

BODY = b"%PDF-1.4 one page " + bytes(range(256)) * 4


@dataclass
class FakeJob:
    job_id: int
    body: bytes = BODY
    state: JobState = JobState.PENDING
    bound: bool = False
    output_device_job_id: int | None = None
    done: asyncio.Future[JobState] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    @property
    def fetchable(self) -> bool:
        return self.state == JobState.PENDING and not self.bound


class FakeDeviceService:
    def __init__(self) -> None:
        self.jobs: dict[int, FakeJob] = {}
        self.calls: list[Payload] = []
        self.refusals: list[tuple[str, int]] = []  # (request, job id) refused as not bound
        self.hold: dict[type[Payload], asyncio.Event] = {}
        self.fail: dict[type[Payload], CloudImagingError] = {}
        self.arrived: dict[type[Payload], asyncio.Event] = {}
        self.on_call: Callable[[Payload], None] | None = None

    def add(self, job_id: int, body: bytes = BODY) -> FakeJob:
        job = self.jobs[job_id] = FakeJob(job_id, body)
        return job

    def cancel(self, job_id: int) -> None:
        """A user cancels the job (ended at once: enough for these tests)."""
        self._end(self._job(job_id), JobState.CANCELED)

    def seen(self, kind: type[Payload]) -> asyncio.Event:
        """Set once a request of this kind has arrived (and been acted on)."""
        return self.arrived.setdefault(kind, asyncio.Event())

    def sent(self, kind: type[Payload]) -> list[Any]:
        return [c for c in self.calls if isinstance(c, kind)]

    async def request(self, payload: Payload, response_type: Any, timeout: float = 30.0) -> Any:
        self.calls.append(payload)
        await asyncio.sleep(0)
        error = self.fail.pop(type(payload), None)
        if error is not None:
            raise error
        answer = getattr(self, f"_{type(payload).__name__}")(payload)
        self.seen(type(payload)).set()
        if self.on_call is not None:
            self.on_call(payload)
        gate = self.hold.get(type(payload))
        if gate is not None:
            await gate.wait()
        return answer

    # --- the operations ------------------------------------------------------------------
    def _job(self, job_id: int) -> FakeJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return job

    def _bound(self, kind: str, job_id: int) -> FakeJob:
        job = self._job(job_id)
        if not job.bound:
            self.refusals.append((kind, job_id))
            raise NotFetchable(f"job {job_id} has not been acknowledged by this device")
        return job

    def _FetchJob(self, req: ops.FetchJob) -> ops.FetchJobResponse:
        job = self._job(req.job_id)
        if job.state.is_terminal or not (job.fetchable or job.bound):
            raise NotFetchable(f"job {job.job_id} is not fetchable")
        return ops.FetchJobResponse(
            job_id=job.job_id,
            job_uuid="urn:uuid:6a1e5cbe-0b8e-4e5a-9d0b-2f8d8e9c0a11",
            job_name=f"job {job.job_id}",
            job_originating_user_name="ann",
            job_state=job.state,
            job_state_reasons=["job-fetchable"],
            number_of_documents=1,
            job_ticket=JobTicket(),
        )

    def _AcknowledgeJob(self, req: ops.AcknowledgeJob) -> ops.AcknowledgeJobResponse:
        job = self._job(req.job_id)
        if not job.state.is_terminal:
            if not job.bound and not job.fetchable:
                raise NotFetchable(f"job {job.job_id} is not fetchable")
            if req.fetch_status_code == "successful-ok":
                job.bound, job.output_device_job_id = True, req.output_device_job_id
            else:
                self._end(job, JobState.ABORTED)
        return ops.AcknowledgeJobResponse(
            job_id=job.job_id, job_state=job.state, job_state_reasons=["job-queued"]
        )

    def _FetchDocument(self, req: ops.FetchDocument) -> ops.FetchDocumentResponse:
        job = self._bound("FetchDocument", req.job_id)
        if job.state.is_terminal:
            raise NotFetchable(f"job {job.job_id} has ended")
        return ops.FetchDocumentResponse(
            job_id=job.job_id,
            document_number=req.document_number,
            document_name="d.pdf",
            document_format="application/pdf",
            document_size=len(job.body),
            document_digest=hashlib.sha256(job.body).hexdigest(),
            last_document=True,
            document_data=job.body,
        )

    def _AcknowledgeDocument(self, req: ops.AcknowledgeDocument) -> ops.AcknowledgeDocumentResponse:
        job = self._bound("AcknowledgeDocument", req.job_id)
        if req.fetch_status_code != "successful-ok":
            self._end(job, JobState.ABORTED)
        return ops.AcknowledgeDocumentResponse(
            job_id=job.job_id,
            document_number=req.document_number,
            document_state=DocumentState.PENDING,
            job_state=job.state,
            job_state_reasons=["job-queued"],
        )

    def _UpdateJobState(self, req: ops.UpdateJobState) -> ops.UpdateJobStateResponse:
        job = self._bound("UpdateJobState", req.job_id)
        if not job.state.is_terminal:
            if req.job_state.is_terminal:
                self._end(job, req.job_state)
            else:
                job.state = req.job_state
        return ops.UpdateJobStateResponse(
            job_id=job.job_id, job_state=job.state, job_state_reasons=req.job_state_reasons
        )

    def _UpdateFetchableJobs(self, req: ops.UpdateFetchableJobs) -> ops.UpdateFetchableJobsResponse:
        listed = {h.job_id: h for h in req.job}
        cancel: list[int] = []
        for job in self.jobs.values():
            if job.bound and not job.state.is_terminal and job.job_id not in listed:
                job.bound, job.state = False, JobState.PENDING  # back to the fetchable list
        for job_id in listed:
            job = self.jobs.get(job_id)
            if job is None:
                continue
            if job.state.is_terminal:
                cancel.append(job_id)
            elif not job.bound:
                job.bound = True  # fetched and meant to be acknowledged
        fetchable = [j.job_id for j in self.jobs.values() if j.fetchable]
        return ops.UpdateFetchableJobsResponse(fetchable_job_ids=fetchable, cancel_job_ids=cancel)

    def _UpdateServiceState(self, req: ops.UpdateServiceState) -> ops.UpdateServiceStateResponse:
        return ops.UpdateServiceStateResponse(
            output_device_uuid=req.output_device_uuid, status=req.status or ServiceStatus()
        )

    def _end(self, job: FakeJob, state: JobState) -> None:
        job.state = state
        if not job.done.done():
            job.done.set_result(state)
