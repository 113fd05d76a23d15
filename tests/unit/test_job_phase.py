"""The manager's phase table (manager/job_phase.py) and the verdict on a cut-off send
(manager/cut_off.py), as tables."""

from __future__ import annotations

import pytest

from manager.cut_off import Verdict, judge
from manager.drivers.base import DeviceJobStatus
from manager.job_phase import PHASE_TRANSITIONS, Phase, PhaseError, check_move
from stanzas.states import JobState

P = Phase
ALL: list[Phase | None] = [None, *Phase]


def test_a_job_enters_the_journal_only_as_created() -> None:
    assert PHASE_TRANSITIONS[None] == frozenset({P.CREATED})


def test_every_phase_may_leave_the_journal() -> None:
    for phase in Phase:
        assert None in PHASE_TRANSITIONS[phase]


def test_no_document_before_the_acknowledgement() -> None:
    assert P.SENDING not in PHASE_TRANSITIONS[P.CREATED]
    assert P.SENT not in PHASE_TRANSITIONS[P.CREATED]


def test_nothing_is_sent_again_once_everything_is_on_the_device() -> None:
    assert PHASE_TRANSITIONS[P.SENT] == frozenset({P.SENT, None})


def test_a_cut_off_send_is_settled_before_another_send() -> None:
    assert P.SENDING not in PHASE_TRANSITIONS[P.SENDING]
    assert P.CREATED not in PHASE_TRANSITIONS[P.SENDING]


def test_the_table_covers_every_phase_and_check_move_applies_it() -> None:
    assert set(PHASE_TRANSITIONS) == set(ALL)
    for before in ALL:
        for after in ALL:
            if after in PHASE_TRANSITIONS[before]:
                check_move(1, before, after)
            else:
                with pytest.raises(PhaseError):
                    check_move(1, before, after)


def _status(state: str, began: bool | None = None, k: int | None = None) -> DeviceJobStatus:
    return DeviceJobStatus(7, state, processing_began=began, job_k_octets=k)


@pytest.mark.parametrize(
    ("status", "canceled", "verdict"),
    [
        (None, False, Verdict.ABORT),
        (_status("pending-held"), False, Verdict.CANCEL_FIRST),
        (_status("pending"), True, Verdict.ABORT),
        (_status("aborted", began=False), False, Verdict.RESEND),
        (_status("canceled", began=False), True, Verdict.RESEND),
        (_status("canceled", began=True), True, Verdict.ABORT),
        (_status("canceled", began=None), True, Verdict.ABORT),
        (_status("aborted", began=True), False, Verdict.ENDED),
        (_status("aborted", began=None), False, Verdict.ENDED),
        (_status("completed", began=True), False, Verdict.ARRIVED),
        (_status("processing"), False, Verdict.ARRIVED),
        (_status("completed", began=True, k=3), False, Verdict.ARRIVED),
        (_status("completed", began=True, k=2), False, Verdict.ABORT),
        (_status("processing", k=1), False, Verdict.ABORT),
    ],
)
def test_the_verdict_on_a_cut_off_send(
    status: DeviceJobStatus | None, canceled: bool, verdict: Verdict
) -> None:
    got, why = judge(status, 2049, canceled=canceled)  # 2049 octets: 3 K octets
    assert got == verdict
    assert bool(why) == (got == Verdict.ABORT)


def test_completed_with_fewer_octets_is_never_a_completed_print() -> None:
    verdict, why = judge(_status(JobState.COMPLETED, began=True, k=1), 10_000, canceled=False)
    assert verdict == Verdict.ABORT and "1 of 10 K octets" in why
