"""The manager's own record of the jobs it holds, kept in a small state file.

The print-at-most-once rule (docs/architecture.md) depends on it: each step that
cannot be undone is written down, fsynced, before it is taken.

Phases of a held job, in order:
- created: the device job exists, holding no document; AcknowledgeJob not yet answered.
- acknowledged: the service bound the job to this device; no document sent yet.
- sending: document `documents_sent + 1` is being handed to the device.
- sent: every document is on the device; the manager follows the device job.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path


class Phase(StrEnum):
    CREATED = "created"
    ACKNOWLEDGED = "acknowledged"
    SENDING = "sending"
    SENT = "sent"


@dataclass(frozen=True)
class HeldJob:
    job_id: int
    output_device_uuid: str
    phase: Phase
    device_job_id: int
    number_of_documents: int
    documents_sent: int = 0
    documents: tuple[int, ...] = ()  # the document numbers to send, in order (empty: 1..n)
    last_state: str = "pending"  # the job-state last reported to the service
    last_reasons: tuple[str, ...] = ("none",)


class HeldJobs:
    """A dict of held jobs mirrored to one JSON file, rewritten atomically on every change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: dict[int, HeldJob] = {}
        if path.exists():
            for raw in json.loads(path.read_text(encoding="utf-8")):
                raw["phase"] = Phase(raw["phase"])
                raw["last_reasons"] = tuple(raw["last_reasons"])
                raw["documents"] = tuple(raw.get("documents", ()))
                self._jobs[raw["job_id"]] = HeldJob(**raw)

    def get(self, job_id: int) -> HeldJob | None:
        return self._jobs.get(job_id)

    def for_device(self, output_device_uuid: str) -> list[HeldJob]:
        return [j for j in self._jobs.values() if j.output_device_uuid == output_device_uuid]

    def put(self, job: HeldJob) -> HeldJob:
        self._jobs[job.job_id] = job
        self._save()
        return job

    def advance(self, job: HeldJob, **changes: object) -> HeldJob:
        return self.put(replace(job, **changes))  # type: ignore[arg-type]

    def drop(self, job_id: int) -> None:
        if self._jobs.pop(job_id, None) is not None:
            self._save()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = [asdict(j) for j in self._jobs.values()]
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
