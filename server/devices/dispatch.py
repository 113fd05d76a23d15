"""Which device may take which job, and which devices the service offers waiting work
(fan-out: INFRA, PWG 5100.18, one queue with several Output Devices).

A device may take a job of a queue it serves when it is approved and not paused, and
supports what the job's ticket asks and its documents' formats (`refusal`); the job
itself must be fetchable (server/jobs/states.py `fetchable`).

A queue served by several approved devices is *shared*. There a device holds at most
FAN_OUT_WINDOW job(s) it has not started yet (of any queue): a job is bound to a device
that is idle, or that is printing and takes it as the next one (so the job's documents
are at the device when the current job ends, and the device does not stand still
between jobs); never to one with a job already waiting. Work is offered (`offers`) in
turn: each waiting job to the free device that can print it and is most idle — holding
no job before holding one being printed; then its printer idle before processing before
stopped; then the one given work longest ago — one job each, so a busy device is offered
a job only when no idle one can take it. RACE_DELAY later, every job offered so and
still waiting is offered to every free device that can print it, and the first
AcknowledgeJob binds it (JobStates.bind). A queue with one device offers it every
waiting job at once, as before (its device queues them itself).

What this leaves: a job bound to a printing device as its next one waits for that job
to end even if another device becomes idle meanwhile (at most one job's printing time;
only when every device that could print it was busy as it was bound).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from server.context import ServiceContext
from server.devices.rollup import serving
from server.jobs import tickets
from server.stores.devices import Device
from server.stores.jobs import Job
from stanzas.states import PrinterState

FAN_OUT_WINDOW = 1  # jobs not yet started that a device of a shared queue holds at once
RACE_DELAY = 1.0  # seconds before a job offered to one device is offered to every free one
_RANK = {PrinterState.IDLE: 0, PrinterState.PROCESSING: 1, PrinterState.STOPPED: 2}


async def refusal(ctx: ServiceContext, device: Device, job: Job) -> str | None:
    """Why this device may not take this job of one of its queues, or None."""
    if device.is_paused:
        return f"device {device.name} is paused"
    wanted = job.job_ticket.output_device
    if wanted is not None and wanted != device.name:
        return f"job {job.job_id} is to print at device {wanted}"
    if device.output_device_uuid in job.redirected_from:
        return f"device {device.name} gave job {job.job_id} up before (redirected)"
    problems = await unsupported(ctx, device, job)
    if problems:
        return f"device {device.name} cannot print job {job.job_id}: {'; '.join(problems)}"
    return None


async def full(ctx: ServiceContext, device: Device, job: Job) -> str | None:
    """Why the device may take no more work of this job's queue now (a shared queue's
    window), or None."""
    limit = await window(ctx, job)
    if limit is None:
        return None
    _held, waiting = (await ctx.jobs.count_bound_active([device.output_device_uuid]))[
        device.output_device_uuid
    ]
    if waiting < limit:
        return None
    return (
        f"device {device.name} holds {waiting} job(s) it has not started; a job of "
        f"{job.printer_name} goes to a free device of the queue"
    )


async def unsupported(ctx: ServiceContext, device: Device, job: Job) -> list[str]:
    """What of the job the device does not support: its ticket's elements (as the user
    gave them; the queue's defaults are applied where the device can), and the formats
    of its documents."""
    caps = device.capabilities
    problems = list(tickets.unsupported(job.job_ticket, caps).values())
    for document in await ctx.documents.list(job.job_id):
        if not tickets.format_supported(document.document_format, caps):
            problems.append(f"document-format={document.document_format}")
    return problems


async def shared(ctx: ServiceContext, printer_name: str) -> bool:
    """Whether several approved devices serve the queue."""
    return len(await serving(ctx, printer_name)) > 1


async def window(ctx: ServiceContext, job: Job) -> int | None:
    """How many unfinished jobs a device may hold when it takes this one (None: any)."""
    return FAN_OUT_WINDOW if await shared(ctx, job.printer_name) else None


@dataclass
class Offers:
    """The work notifications a dispatch sends: job ids by device, and whether jobs
    were left waiting that a later round (RACE_DELAY) should offer more widely."""

    jobs: dict[str, list[int]]
    devices: dict[str, Device]
    waiting: bool = False

    def add(self, device: Device, job: Job) -> None:
        self.jobs.setdefault(device.output_device_uuid, []).append(job.job_id)
        self.devices[device.output_device_uuid] = device


class Dispatcher:
    """Remembers when each device was last given work (the tie-break between equally
    idle devices) and the offers still outstanding (a job offered to one device is not
    offered again, and that device not offered another, until it takes the job or
    RACE_DELAY has passed), nothing else: every round reads jobs and devices afresh."""

    def __init__(self, ctx: ServiceContext, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx = ctx
        self.clock = clock
        self._given: dict[str, float] = {}  # output-device-uuid -> when
        # job id -> (its queue, the device it was offered to, when)
        self._offered: dict[int, tuple[str, str, float]] = {}

    async def offers(self, printer_name: str, *, race: bool = False) -> Offers:
        """This round's offers for the queue (see the module's docstring)."""
        ctx = self.ctx
        found = Offers({}, {})
        members = [d for d in await serving(ctx, printer_name) if not d.is_paused]
        if not members or not (await ctx.queue_states.get(printer_name)).hands_out_work:
            return found
        jobs = await ctx.jobs.list_fetchable(printer_name, limit=200)
        waiting = {j.job_id for j in jobs}
        for job_id in [i for i, (q, _d, _t) in self._offered.items() if q == printer_name]:
            if job_id not in waiting:
                del self._offered[job_id]  # taken (or no longer waiting)
        if not jobs:
            return found
        if len(await serving(ctx, printer_name)) == 1:
            (device,) = members
            for job in jobs:
                if await refusal(ctx, device, job) is None:
                    found.add(device, job)
            return found
        now = self.clock()
        for job, device in await self._pairs(members, jobs, now, race=race):
            found.add(device, job)
            if not race:
                self._offered[job.job_id] = (printer_name, device.output_device_uuid, now)
        found.waiting = not race and bool(found.jobs)
        for uuid in found.jobs:
            self._given[uuid] = now
        return found

    async def _pairs(
        self, members: list[Device], jobs: list[Job], now: float, *, race: bool
    ) -> list[tuple[Job, Device]]:
        """Which job goes to which free device: in turn, each job not offered yet to the
        most idle free device that can print it and has no offer outstanding; in the race
        round, every job offered RACE_DELAY ago or more to every free device that can
        print it."""
        ctx = self.ctx
        online = [d for d in members if d.jid in ctx.online]
        counts = await ctx.jobs.count_bound_active([d.output_device_uuid for d in online])
        free = sorted(
            (d for d in online if counts[d.output_device_uuid][1] < FAN_OUT_WINDOW),
            key=lambda d: (
                counts[d.output_device_uuid][0] > 0,  # idle before printing
                _RANK.get(d.printer_state, 2) + (0 if d.printer_is_accepting_jobs else 3),
                self._given.get(d.output_device_uuid, 0.0),
                d.name,
            ),
        )
        live = {i: o for i, o in self._offered.items() if now - o[2] < RACE_DELAY}
        slots = {
            d.output_device_uuid: FAN_OUT_WINDOW - counts[d.output_device_uuid][1] for d in free
        }
        for _queue, uuid, _when in live.values():
            if uuid in slots:
                slots[uuid] -= 1
        pairs: list[tuple[Job, Device]] = []
        for job in jobs:
            if race and (job.job_id not in self._offered or job.job_id in live):
                continue
            if not race and job.job_id in live:
                continue
            for device in free:
                if not race and slots[device.output_device_uuid] <= 0:
                    continue
                if await refusal(ctx, device, job) is not None:
                    continue
                pairs.append((job, device))
                if not race:
                    slots[device.output_device_uuid] -= 1
                    break
        return pairs


async def fetchable_for(ctx: ServiceContext, device: Device, limit: int = 100) -> list[Job]:
    """The waiting jobs this device may take now: of each queue it serves, those it
    can print; of shared queues no more than its window leaves room for."""
    if not device.approved or device.is_paused:
        return []
    queues = await ctx.queue_devices.queues_of(device.output_device_uuid)
    jobs = await ctx.jobs.list_fetchable(queues, limit)
    shares = {q: await shared(ctx, q) for q in {j.printer_name for j in jobs}}
    room = FAN_OUT_WINDOW
    if any(shares.values()):
        counts = await ctx.jobs.count_bound_active([device.output_device_uuid])
        room -= counts[device.output_device_uuid][1]
    found = []
    for job in jobs:
        if shares[job.printer_name] and room <= 0:
            continue
        if await refusal(ctx, device, job) is None:
            found.append(job)
            room -= 1 if shares[job.printer_name] else 0
    return found
