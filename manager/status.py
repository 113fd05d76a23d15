"""Device views turned into the service's elements: capabilities, status, job roll-up."""

from __future__ import annotations

import re

from manager.drivers.base import DeviceCapabilities, DeviceJobStatus, DeviceStatus
from stanzas.groups import Capabilities, ServiceStatus
from stanzas.states import JobState, PrinterState
from stanzas.states import JobStateReason as R

_KEYWORD = re.compile(r"^[a-z0-9][a-zA-Z0-9._-]{0,254}$")


def keywords(values: tuple[str, ...] | list[str]) -> list[str]:
    """Only well-formed keywords travel (a device may send anything)."""
    return [v for v in values if _KEYWORD.match(v)] or [R.NONE]


def capabilities_element(caps: DeviceCapabilities) -> Capabilities:
    return Capabilities(
        printer_make_and_model=caps.printer_make_and_model[:1023] or None,
        printer_info=caps.printer_info[:1023] or None,
        document_format_supported=[f for f in caps.document_format_supported if "/" in f] or None,
        media_supported=[m for m in keywords(list(caps.media_supported)) if m != R.NONE] or None,
        media_default=caps.media_default if _KEYWORD.match(caps.media_default or "") else None,
        sides_supported=[s for s in keywords(list(caps.sides_supported)) if s != R.NONE] or None,
        sides_default=caps.sides_default or None,
        print_color_mode_supported=[
            m for m in keywords(list(caps.print_color_mode_supported)) if m != R.NONE
        ]
        or None,
        print_color_mode_default=caps.print_color_mode_default or None,
        print_quality_supported=list(caps.print_quality_supported) or None,
        finishings_supported=list(caps.finishings_supported) or None,
        copies_supported=caps.copies_max or None,
        destination_uri_schemes_supported=list(caps.destination_uri_schemes_supported) or None,
    )


def status_element(status: DeviceStatus) -> ServiceStatus:
    return ServiceStatus(
        printer_state=PrinterState(status.printer_state),
        printer_state_reasons=keywords(status.printer_state_reasons),
        printer_state_message=status.printer_state_message[:1023],
        printer_is_accepting_jobs=status.printer_is_accepting_jobs,
    )


def cloud_report(
    job: DeviceJobStatus, printer: DeviceStatus | None
) -> tuple[JobState, list[str], str]:
    """The cloud job's state, reasons and message from the device job's (and the
    printer's, when it has stopped): seed 000 asks the service to show both. The one
    place where the local (device) state becomes the remote (cloud) one."""
    state = job.job_state
    reasons = [r for r in keywords(job.job_state_reasons) if r != R.NONE]
    message = job.job_state_message
    printer_stopped = printer is not None and printer.printer_state == PrinterState.STOPPED
    if state == JobState.PROCESSING and printer_stopped:
        state = JobState.PROCESSING_STOPPED
    if state == JobState.PROCESSING and R.JOB_PRINTING not in reasons:
        reasons.append(R.JOB_PRINTING)
    if state == JobState.PROCESSING_STOPPED and R.JOB_SUSPENDED not in reasons:
        if R.PRINTER_STOPPED not in reasons:
            reasons.append(R.PRINTER_STOPPED)
        if printer is not None:
            why = ", ".join(r for r in printer.printer_state_reasons if r != R.NONE)
            detail = f"; {printer.printer_state_message}" if printer.printer_state_message else ""
            message = f"printer stopped: {why or 'unknown reason'}{detail}"
    if state in (JobState.PENDING, JobState.PENDING_HELD) and R.JOB_QUEUED not in reasons:
        reasons.append(R.JOB_QUEUED)
    return state, reasons or [R.NONE], message[:1023]
