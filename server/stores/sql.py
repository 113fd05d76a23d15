"""SQL the stores share, made from the state enums rather than spelled out."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from stanzas.states import JobState


def in_list(values: Iterable[StrEnum]) -> str:
    """A SQL list of enum values: ('a', 'b'). The values are the enums' own keywords."""
    return "(" + ", ".join(f"'{v.value}'" for v in values) + ")"


# In the enum's order: migration 004's partial indexes of the active jobs name the list so,
# and SQLite uses a partial index only for a query that repeats the index's term.
TERMINAL_JOB_STATES = in_list(state for state in JobState if state.is_terminal)
JOB_ENDED = f"job_state IN {TERMINAL_JOB_STATES}"
JOB_ACTIVE = f"job_state NOT IN {TERMINAL_JOB_STATES}"
