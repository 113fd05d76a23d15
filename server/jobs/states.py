"""The one place where job and document states change.

Every job is born through `JobStates.create` and every change goes through
`JobStates.change` (or `change_document`): it checks the transition table, settles the
reasons, stamps time-at-processing / time-at-completed, writes the row and, once the
transaction commits, tells the listeners (the queue states, the notifier, alerts). No
other code writes job-state or document-state.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from server.stores.db import Database
from server.stores.documents import Document, DocumentStore
from server.stores.jobs import Job, JobStore
from server.stores.usage import UsageStore
from stanzas.errors import NotPossible
from stanzas.states import DocumentState, JobState
from stanzas.states import JobStateReason as R

log = logging.getLogger(__name__)

_P, _H, _PR, _PS = (
    JobState.PENDING,
    JobState.PENDING_HELD,
    JobState.PROCESSING,
    JobState.PROCESSING_STOPPED,
)
_C, _A, _D = JobState.CANCELED, JobState.ABORTED, JobState.COMPLETED

# RFC 8011 §5.3.7, Table 11, as a table: state -> states it may move to. Staying in the
# same state is allowed (a reasons or message update). Going back to pending from
# processing is the seeds' resync rule (a device lost the job: it becomes fetchable again).
JOB_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    _P: frozenset({_P, _H, _PR, _PS, _C, _A, _D}),
    _H: frozenset({_H, _P, _C, _A, _D}),  # completed: every document was canceled
    _PR: frozenset({_PR, _PS, _P, _C, _A, _D}),
    _PS: frozenset({_PS, _PR, _P, _C, _A, _D}),
    _C: frozenset(),
    _A: frozenset(),
    _D: frozenset(),
}

_DP, _DPR, _DPS = DocumentState.PENDING, DocumentState.PROCESSING, DocumentState.PROCESSING_STOPPED
_DC, _DA, _DD = DocumentState.CANCELED, DocumentState.ABORTED, DocumentState.COMPLETED
DOCUMENT_TRANSITIONS: dict[DocumentState, frozenset[DocumentState]] = {
    _DP: frozenset({_DP, _DPR, _DPS, _DC, _DA, _DD}),
    _DPR: frozenset({_DPR, _DPS, _DP, _DC, _DA, _DD}),
    _DPS: frozenset({_DPS, _DPR, _DP, _DC, _DA, _DD}),
    _DC: frozenset(),
    _DA: frozenset(),
    _DD: frozenset(),
}

# Reasons that describe a job still on its way; they make no sense once it has ended.
TRANSIENT_REASONS = frozenset(
    {
        R.JOB_INCOMING,
        R.JOB_FETCHABLE,
        R.JOB_QUEUED,
        R.JOB_PRINTING,
        R.PRINTER_STOPPED,
        R.PROCESSING_TO_STOP_POINT,
        R.JOB_HOLD_UNTIL_SPECIFIED,
        R.ACCOUNT_LIMIT_REACHED,
    }
)
# The reason each final state gets when nothing more specific was given.
FINAL_REASONS = {
    _D: R.JOB_COMPLETED_SUCCESSFULLY,
    _C: R.JOB_CANCELED_BY_USER,
    _A: R.ABORTED_BY_SYSTEM,
}
_FINAL_REASON_SET = frozenset(
    {
        R.JOB_COMPLETED_SUCCESSFULLY,
        R.JOB_COMPLETED_WITH_ERRORS,
        R.JOB_CANCELED_BY_USER,
        R.JOB_CANCELED_BY_OPERATOR,
        R.JOB_CANCELED_AT_DEVICE,
        R.ABORTED_BY_SYSTEM,
        R.DOCUMENT_ACCESS_ERROR,
        R.DOCUMENT_FORMAT_ERROR,
        R.UNSUPPORTED_DOCUMENT_FORMAT,
    }
)


class Retention(Protocol):
    """What the data-retention policy (server/jobs/retention.py) says of a job's document data
    when the job ends, and how the data goes."""

    async def discards_at_end(self, job: Job) -> bool: ...

    def discard_data(self, spool_name: str) -> None: ...


# Told of every committed change: (the job before, the job after); before is None for a
# job just created.
JobListener = Callable[[Job | None, Job], None]


def settle_reasons(
    state: JobState,
    current: Iterable[str],
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
) -> tuple[str, ...]:
    """The reasons after a change: current - remove + add, cleaned for the new state."""
    removed = set(remove)
    reasons = [r for r in current if r not in removed and r != R.NONE]
    for reason in add:
        if reason not in reasons and reason != R.NONE:
            reasons.append(reason)
    if state.is_terminal:
        reasons = [r for r in reasons if r not in TRANSIENT_REASONS]
        if not any(r in _FINAL_REASON_SET for r in reasons):
            reasons.append(FINAL_REASONS[state])
    return tuple(reasons) or (R.NONE,)


def fetchable(
    state: JobState,
    reasons: Iterable[str],
    *,
    is_closed: bool,
    output_device_uuid: str | None,
    cancel_requested: str | None,
) -> bool:
    """INFRA job-fetchable, the one definition: a device may fetch the job now. It is
    pending, closed with every document's data in (no longer job-incoming), bound to no
    device, and no cancel is pending. JobStates writes it (the is_fetchable column and
    the job-fetchable reason) with every write of a job's state; FetchJob, the fetchable
    lists and the work notifications read what it wrote."""
    return (
        state == _P
        and is_closed
        and output_device_uuid is None
        and cancel_requested is None
        and R.JOB_INCOMING not in reasons
    )


def _derived(values: dict[str, Any], before: Job | None = None) -> None:
    """Add to a job's `values` what is derived from its state: whether it is fetchable,
    and the job-fetchable reason to say so."""

    def value(name: str, default: Any) -> Any:
        return values[name] if name in values else getattr(before, name, default)

    state: JobState = values["job_state"]
    reasons: tuple[str, ...] = values["job_state_reasons"]
    ready = fetchable(
        state,
        reasons,
        is_closed=value("is_closed", False),
        output_device_uuid=value("output_device_uuid", None),
        cancel_requested=value("cancel_requested", None),
    )
    if ready != (R.JOB_FETCHABLE in reasons):
        change = {"add": [R.JOB_FETCHABLE]} if ready else {"remove": [R.JOB_FETCHABLE]}
        values["job_state_reasons"] = settle_reasons(state, reasons, **change)
    values["is_fetchable"] = ready


class JobStates:
    def __init__(
        self,
        db: Database,
        jobs: JobStore,
        documents: DocumentStore,
        retention: Retention,
        clock: Callable[[], float] = time.time,
        usage: UsageStore | None = None,
    ) -> None:
        self.db = db
        self.jobs = jobs
        self.documents = documents
        self.retention = retention
        self.clock = clock
        self.usage = usage  # accounting: each ended job's row
        self.listeners: list[JobListener] = []

    async def create(self, **values: Any) -> Job:
        """A new job in its first state (job_state and job_state_reasons among `values`).
        The listeners hear of it through `born`, once that state is settled (HoldNewJobs
        may hold it first)."""
        if "is_fetchable" in values:
            raise ValueError("whether a job is fetchable is derived here")
        values["job_state_reasons"] = settle_reasons(
            values["job_state"], values["job_state_reasons"]
        )
        _derived(values)
        return await self.jobs.insert(**values)

    def born(self, job: Job) -> None:
        """After the commit, the listeners hear of the new job as it is now."""
        self.db.after_commit(lambda: self._announce(None, job))

    async def change(
        self,
        job: Job,
        state: JobState,
        *,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
        reasons: Iterable[str] | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> Job:
        """Move `job` to `state`; `reasons` replaces the reasons, `add`/`remove` edit them.
        `fields` are other job columns changed in the same write (never job_state)."""
        if {"job_state", "job_state_reasons", "is_fetchable"} & set(fields):
            raise ValueError("state and reasons are set through the state argument")
        if state not in JOB_TRANSITIONS[job.job_state]:
            raise NotPossible(
                f"job {job.job_id} is {job.job_state.value}; it cannot become {state.value}"
            )
        base = job.job_state_reasons if reasons is None else tuple(reasons)
        now = int(self.clock())
        changes: dict[str, Any] = dict(fields)
        changes["job_state"] = state
        changes["job_state_reasons"] = settle_reasons(state, base, add, remove)
        if message is not None:
            changes["job_state_message"] = message
        if state in (_PR, _PS) and job.time_at_processing is None:
            changes["time_at_processing"] = now
        if state.is_terminal:
            changes["time_at_completed"] = now
            changes["cancel_requested"] = None
        _derived(changes, job)
        # Inside the caller's transaction no savepoint of its own (each is a round trip
        # to SQLite's thread): a failure here propagates and rolls the caller's
        # transaction back; no caller catches it and commits (handlers, housekeeping
        # and the admin front ends all let it end the transaction).
        own = not self.db.in_own_transaction()
        async with self.db.transaction() if own else contextlib.nullcontext():
            documents: list[Document] = []
            octets = 0
            if state.is_terminal:
                documents = await self.documents.list(job.job_id)
                octets = sum(d.document_size for d in documents)
                changes["job_k_octets"] = (octets + 1023) // 1024
            after = await self.jobs.transition(job, **changes)
            if state.is_terminal:
                await self._end_documents(after, documents)
                await self._account(after, octets)
            self.db.after_commit(lambda: self._announce(job, after))
        return after

    async def _account(self, job: Job, octets: int) -> None:
        """The ended job's row of job_usage, in the transaction that ends it."""
        if self.usage is None:
            return
        await self.usage.record(
            job_id=job.job_id,
            job_uuid=job.job_uuid,
            owner=job.owner,
            printer_name=job.printer_name,
            service_type=job.service_type,
            job_state=job.job_state.value,
            documents=job.number_of_documents,
            impressions=job.job_impressions_completed,
            sheets=job.job_media_sheets_completed,
            octets=octets,
            time_at_creation=job.time_at_creation,
            time_at_completed=job.time_at_completed or int(self.clock()),
        )

    def _announce(self, before: Job | None, after: Job) -> None:
        for listener in self.listeners:
            try:
                listener(before, after)
            except Exception:
                log.exception("a job listener failed")

    async def change_document(
        self,
        document: Document,
        state: DocumentState,
        *,
        reasons: Iterable[str] | None = None,
        message: str | None = None,
        **fields: Any,
    ) -> Document:
        """`fields` are other document columns changed in the same write."""
        if state not in DOCUMENT_TRANSITIONS[document.document_state]:
            raise NotPossible(
                f"document {document.document_number} of job {document.job_id} is "
                f"{document.document_state.value}; it cannot become {state.value}"
            )
        changes: dict[str, Any] = {**fields, "document_state": state}
        if reasons is not None:
            changes["document_state_reasons"] = tuple(reasons) or (R.NONE,)
        if message is not None:
            changes["document_state_message"] = message
        if state.is_terminal:
            changes["time_at_completed"] = int(self.clock())
        return await self.documents.transition(document, **changes)

    async def _end_documents(self, job: Job, documents: list[Document]) -> None:
        """A finished job's unfinished documents end with it, in the same state; under
        the discard policy their data goes in the same write (removed after commit)."""
        final = DocumentState(job.job_state.value)
        discard = await self.retention.discards_at_end(job)
        for document in documents:
            fields: dict[str, Any] = {}
            if discard and document.spool_name:
                fields["spool_name"] = None
                self.db.after_commit(
                    functools.partial(self.retention.discard_data, document.spool_name)
                )
            if not document.document_state.is_terminal:
                await self.change_document(document, final, **fields)
            elif fields:
                await self.documents.update(document, **fields)
