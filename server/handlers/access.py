"""Who may touch what: the checks every handler starts with."""

from __future__ import annotations

from server.context import Caller, ServiceContext
from server.stores.devices import Device
from server.stores.jobs import Job
from stanzas.errors import NotAuthorized, NotFound
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
    """A job of the device's queue that is not bound to another device."""
    job = await ctx.jobs.get(job_id)
    if job is None:
        raise NotFound(f"no job {job_id}")
    if job.printer_name != device.printer_name or (
        job.output_device_uuid is not None and job.output_device_uuid != device.output_device_uuid
    ):
        raise NotAuthorized(f"job {job_id} is not for device {device.output_device_uuid}")
    return job


async def client(ctx: ServiceContext, caller: Caller) -> None:
    """Client operations come from user accounts of this server that are not devices."""
    if not ctx.is_local_user(caller):
        raise NotAuthorized("client operations come from user accounts of this server")
    if await ctx.devices.get_by_jid(caller.bare):
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
