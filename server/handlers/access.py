"""Who may touch what: the checks every handler starts with."""

from __future__ import annotations

from server.context import Caller, ServiceContext
from server.devices import registration
from server.stores.devices import Device
from server.stores.jobs import Job
from stanzas.errors import NotAuthorized, NotFetchable, NotFound
from stanzas.states import RegistrationState


async def registered_device(
    ctx: ServiceContext, caller: Caller, output_device_uuid: str, *, approved: bool = True
) -> Device:
    """The device, if the sender is the manager account that registered it."""
    device = await ctx.devices.get(output_device_uuid)
    if device is None:
        raise NotFound(f"no device {output_device_uuid} is registered")
    if device.jid != caller.bare:
        raise NotAuthorized(f"{output_device_uuid} is not registered to {caller.bare}")
    if approved and device.registration_state != RegistrationState.APPROVED:
        raise NotAuthorized(f"{output_device_uuid} awaits an administrator's approval")
    return device


async def device_job(ctx: ServiceContext, device: Device, job_id: int) -> Job:
    """A job bound to the device (even if it no longer serves the job's queue), or of
    one of the device's queues and bound to no device."""
    job = await ctx.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.output_device_uuid == device.output_device_uuid:
        return job
    serves = job.printer_name in await ctx.queue_devices.queues_of(device.output_device_uuid)
    if serves and job.output_device_uuid is not None:
        # A job of its queue another device took (fan-out): it lost the race.
        raise NotFetchable(f"job {job_id} was taken by another device of {job.printer_name}")
    if not serves:
        raise NotAuthorized(f"job {job_id} is not for device {device.output_device_uuid}")
    return job


async def client(ctx: ServiceContext, caller: Caller) -> None:
    """Client operations come from user accounts of this server that are not devices."""
    if not ctx.is_local_user(caller):
        raise NotAuthorized("client operations come from user accounts of this server")
    if await registration.is_device_account(ctx, caller.bare):
        raise NotAuthorized(f"{caller.bare} is a device account, not a user")


async def job_for(
    ctx: ServiceContext, caller: Caller, job_id: int, *, operators: bool = True
) -> Job:
    """A job the caller (a client: the operation's role) may act on: its owner, an
    administrator, and, unless the seed reserves the operation to owners and
    administrators, an operator."""
    job = await ctx.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    allowed = (
        job.owner == caller.bare or ctx.is_admin(caller) or (operators and ctx.is_operator(caller))
    )
    if not allowed:
        raise NotAuthorized(f"job {job_id} belongs to another user")
    await ctx.queue_states.require_up(job.printer_name)  # down: only RestartService
    return job
