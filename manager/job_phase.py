"""How far the manager got with a job it holds: the phases and the one table of moves.

The phase is the manager's own progress with a job, written to the held-jobs journal
before each step that cannot be undone (docs/architecture.md, "Print at most once").
It is neither the job's state at the service (remote, `HeldJob.last_state`) nor the
device job's state (local, `HeldJob.device_job_state`): ippsample's ippproxy keeps
those two apart in the same way, and `manager/status.py` maps the one onto the other.

Only `JobRunner._move` (manager/job_runner.py) changes a phase, and it checks every
move against PHASE_TRANSITIONS first.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """The phase of a held job, in the order a job goes through them."""

    # The device job exists (or was given back while the service was slow to answer);
    # it holds no document. AcknowledgeJob is asked, its answer not yet in.
    CREATED = "created"
    # The service bound the job to this device; `documents_sent` documents are on the
    # device. No device job yet (device_job_id None) if it was given back.
    ACKNOWLEDGED = "acknowledged"
    # Document `documents_sent + 1` is being handed to the device.
    SENDING = "sending"
    # Every document is on the device; the manager follows the device job to its end.
    SENT = "sent"


# phase -> the phases it may move to; None stands for "not held": the job enters the
# journal as CREATED and may leave it from any phase (refused, canceled, settled after
# a restart, or ended and heard by the service). A phase that moves to itself records a
# change of the rest of the record (a new device job, the state last reported).
PHASE_TRANSITIONS: dict[Phase | None, frozenset[Phase | None]] = {
    None: frozenset({Phase.CREATED}),
    Phase.CREATED: frozenset({Phase.CREATED, Phase.ACKNOWLEDGED, None}),
    Phase.ACKNOWLEDGED: frozenset({Phase.ACKNOWLEDGED, Phase.SENDING, Phase.SENT, None}),
    # A document handed over leads back to ACKNOWLEDGED (more to send) or on to SENT;
    # never to SENDING again: what was cut off is settled first (manager/cut_off.py).
    Phase.SENDING: frozenset({Phase.ACKNOWLEDGED, Phase.SENT, None}),
    # Everything is on the device: nothing is ever sent again.
    Phase.SENT: frozenset({Phase.SENT, None}),
}


class PhaseError(Exception):
    """A move the table does not allow: a bug in the manager, never a device's doing."""


def check_move(job_id: int, before: Phase | None, after: Phase | None) -> None:
    if after not in PHASE_TRANSITIONS[before]:
        raise PhaseError(f"job {job_id}: no move from {before or 'not held'} to {after or 'gone'}")
