"""A queue's capabilities and printer state, rolled up from the devices that serve it
(INFRA, PWG 5100.18: an Infrastructure Printer is as capable as its Output Devices
together; PAPPL's printer-infra.c merges them the same way).

The rule, stated in docs/protocol.md: the queue supports every value that at least one
of its approved devices supports (a job is accepted when one device can print it, and
only that device is offered it); it is processing while one of them is, idle while one
is idle, stopped only when every one is stopped; it accepts jobs while one does. A queue
without an approved device keeps what it had (nothing reported: anything goes).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from server.context import ServiceContext
from server.jobs.tickets import RELEASE_ACTIONS
from server.stores.devices import Device
from server.stores.queues import Queue
from stanzas.groups import Capabilities
from stanzas.states import PrinterState

T = TypeVar("T")
_HIGHEST = ("copies_supported", "job_priority_supported")  # the upper bounds of 1:MAX


def _is_list(annotation: Any) -> bool:
    return any(typing.get_origin(a) is list for a in (annotation, *typing.get_args(annotation)))


_LISTS = tuple(n for n, info in Capabilities.model_fields.items() if _is_list(info.annotation))


def _union(lists: Iterable[Sequence[T] | None]) -> list[T] | None:
    """Every value of any list, in order of first appearance; None when one device
    reports nothing (it does not say it cannot)."""
    merged: list[T] = []
    for values in lists:
        if values is None:
            return None
        merged += [v for v in values if v not in merged]
    return merged


def merged_capabilities(devices: Sequence[Capabilities]) -> Capabilities:
    """What the devices can do together: unions of what each supports."""
    if len(devices) == 1:
        return devices[0].model_copy(update={"printer_info": None})
    values: dict[str, Any] = {}
    for name in Capabilities.model_fields:
        given = [getattr(d, name) for d in devices]
        if name in _LISTS:
            values[name] = _union(given)
        elif name in _HIGHEST:
            values[name] = None if None in given else max(given)
        elif all(isinstance(v, bool) for v in given):  # page-ranges-supported …
            values[name] = any(given)
        else:  # the defaults: the first device's
            values[name] = next((v for v in given if v is not None), None)
    models = dict.fromkeys(d.printer_make_and_model for d in devices if d.printer_make_and_model)
    values["printer_make_and_model"] = " / ".join(models)[:255] or None
    values["printer_info"] = None
    return Capabilities.model_validate(values)


def merged_status(devices: Sequence[Device]) -> dict[str, Any]:
    """The queue's printer-state columns from its devices'."""
    if len(devices) == 1:
        (device,) = devices
        return {
            "printer_state": device.printer_state,
            "printer_state_reasons": device.printer_state_reasons,
            "printer_state_message": device.printer_state_message,
            "printer_is_accepting_jobs": device.printer_is_accepting_jobs,
        }
    states = {d.printer_state for d in devices}
    if PrinterState.PROCESSING in states:
        state = PrinterState.PROCESSING
    elif PrinterState.IDLE in states:
        state = PrinterState.IDLE
    else:
        state = PrinterState.STOPPED
    # A stopped device among working ones does not stop the queue: its reasons are its
    # own (cirrus admin devices); the queue shows those of the devices that work.
    shown = [
        d
        for d in devices
        if state == PrinterState.STOPPED or d.printer_state != PrinterState.STOPPED
    ]
    reasons = list(dict.fromkeys(r for d in shown for r in d.printer_state_reasons if r != "none"))
    message = "; ".join(
        f"{d.name}: {d.printer_state_message}" for d in shown if d.printer_state_message
    )
    return {
        "printer_state": state,
        "printer_state_reasons": tuple(reasons) or ("none",),
        "printer_state_message": message[:1023],
        "printer_is_accepting_jobs": any(d.printer_is_accepting_jobs for d in devices),
    }


async def serving(ctx: ServiceContext, printer_name: str, *, approved: bool = True) -> list[Device]:
    """The devices serving the queue (approved ones only, unless told otherwise)."""
    found = []
    for uuid in await ctx.queue_devices.devices_of(printer_name):
        device = await ctx.devices.get(uuid)
        if device is not None and (device.approved or not approved):
            found.append(device)
    return found


async def refresh(ctx: ServiceContext, printer_name: str) -> Queue | None:
    """Write the queue's rolled-up capabilities and printer state, if they changed."""
    queue = await ctx.queues.get(printer_name)
    if queue is None:
        return None
    devices = await serving(ctx, printer_name)
    if not devices:
        return queue
    changes: dict[str, Any] = merged_status(devices)
    changes["capabilities"] = merged_capabilities([d.capabilities for d in devices]).model_copy(
        update={
            "output_device_supported": [d.name for d in devices],
            "job_release_action_supported": list(RELEASE_ACTIONS),
        }
    )
    changed = {k: v for k, v in changes.items() if getattr(queue, k) != v}
    return await ctx.queues.update(queue, **changed)


async def refresh_queues_of(ctx: ServiceContext, device: Device) -> None:
    for printer_name in await ctx.queue_devices.queues_of(device.output_device_uuid):
        await refresh(ctx, printer_name)
