"""What became of a document whose hand-over to the device was cut off.

A manager killed (or a connection lost) while it sends a document leaves the job in
phase `sending`: the device may hold all of the document, part of it, or none. The
device's own record of the job decides (docs/architecture.md, "Print at most once"):

| the device job, as the device reports it | verdict |
| --- | --- |
| unknown to the device | ABORT: nobody can say what printed |
| pending (not processing yet) | CANCEL_FIRST, then judge again |
| canceled or aborted before it began processing | RESEND: nothing printed; the job is taken again |
| canceled by the manager after it began processing | ABORT: part may have printed |
| canceled or aborted by the device after it began | ENDED: report what the device says |
| processing or completed, holding fewer octets than were sent | ABORT: a truncated copy |
| processing or completed otherwise | ARRIVED: go on as if the send had returned |

"Completed" alone is no proof that the whole document arrived: ippeveprinter takes
the end of a cut-off request body for the end of the document and prints what came.
The ipp driver therefore sends each document with a Content-Length and closes a
connection it gives up on with a reset, so a device that reads the length it was told
sees an error instead of a short document; where the device reports job-k-octets, the
octets are compared as well.
"""

from __future__ import annotations

from enum import Enum

from manager.drivers.base import DeviceJobStatus
from stanzas.states import JobState


class Verdict(Enum):
    ARRIVED = "arrived"  # the device has the document
    RESEND = "resend"  # the device job ended before it printed anything
    CANCEL_FIRST = "cancel-first"  # not begun yet: cancel it, then look again
    ENDED = "ended"  # the device ended the job itself: report what it says
    ABORT = "abort"  # the device cannot show that the document arrived whole


def judge(status: DeviceJobStatus | None, octets: int, *, canceled: bool) -> tuple[Verdict, str]:
    """The verdict on a cut-off send, and why (the message an ABORT reports).
    `octets`: what the device should hold once the send is done; `canceled`: the
    manager has canceled the device job itself (after CANCEL_FIRST)."""
    if status is None:
        return Verdict.ABORT, "the device no longer knows the job"
    if status.job_state in (JobState.PENDING, JobState.PENDING_HELD):
        if canceled:
            return Verdict.ABORT, "the device did not cancel the interrupted job"
        return Verdict.CANCEL_FIRST, ""
    if status.job_state in (JobState.CANCELED, JobState.ABORTED):
        if status.processing_began is False:
            return Verdict.RESEND, ""
        if canceled:
            return Verdict.ABORT, (
                "the manager restarted while handing a document to the device; the rest "
                "is not sent so that nothing prints twice, and part may have printed"
            )
        return Verdict.ENDED, ""
    if status.job_k_octets is not None and status.job_k_octets < -(-octets // 1024):
        return Verdict.ABORT, (
            f"the device received only {status.job_k_octets} of {-(-octets // 1024)} K "
            "octets of the document: what it prints is incomplete"
        )
    return Verdict.ARRIVED, ""
