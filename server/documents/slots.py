"""One-time, expiring HTTPS slots for document bytes (the XEP-0363 pattern).

XMPP carries the operation; the bytes go over HTTPS, which on loopback moves
hundreds of MB/s against a few MB/s for in-band data (FIELD-NOTES). A slot is a
256-bit capability handed only to whoever the operation authorised: the job's owner
for an upload, the bound device for a download.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.stores.jobs import Job
from stanzas.groups import JobTicket


@dataclass(frozen=True)
class UploadSlot:
    token: str
    job_id: int
    document_number: int
    document_name: str
    document_format: str
    last_document: bool
    owner: str
    expected_size: int | None
    expected_digest: str | None
    expires: float
    document_ticket: JobTicket | None = None
    max_size: int | None = None  # the queue's max-document-size, if lower than the service's
    # Put<Service>JobDocumentData: the device's output (a scan) for a closed job, not a
    # client's input; `owner` is then the device's account.
    produced: bool = False


@dataclass(frozen=True)
class DownloadSlot:
    token: str
    job_id: int
    document_number: int
    spool_name: str
    size: int
    digest: str
    device_jid: str
    expires: float


class Slots:
    def __init__(self, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._uploads: dict[str, UploadSlot] = {}
        self._downloads: dict[str, DownloadSlot] = {}
        self._close_after_upload: set[int] = set()  # CloseJob came while an upload ran

    def new_upload(self, **fields: Any) -> UploadSlot:
        self._expire()
        slot = UploadSlot(
            token=secrets.token_urlsafe(32), expires=self.clock() + self.ttl, **fields
        )
        self._uploads[slot.token] = slot
        return slot

    def new_download(self, **fields: Any) -> DownloadSlot:
        self._expire()
        slot = DownloadSlot(
            token=secrets.token_urlsafe(32), expires=self.clock() + self.ttl, **fields
        )
        self._downloads[slot.token] = slot
        return slot

    def upload_in_progress(self, job_id: int) -> bool:
        self._expire()
        return any(s.job_id == job_id for s in self._uploads.values())

    def take_upload(self, token: str) -> UploadSlot | None:
        """Use an upload slot (once)."""
        self._expire()
        return self._uploads.pop(token, None)

    def take_download(self, token: str) -> DownloadSlot | None:
        self._expire()
        return self._downloads.pop(token, None)

    def close_after_upload(self, job_id: int) -> None:
        """CloseJob came while an upload of the job ran: it closes when the upload lands."""
        self._close_after_upload.add(job_id)

    def take_close_request(self, job_id: int) -> bool:
        """Whether a CloseJob waited for this upload (and it no longer does)."""
        if job_id not in self._close_after_upload:
            return False
        self._close_after_upload.discard(job_id)
        return True

    def forget_job(self, job_id: int) -> None:
        for table in (self._uploads, self._downloads):
            for token in [t for t, s in table.items() if s.job_id == job_id]:
                del table[token]
        self._close_after_upload.discard(job_id)

    def job_changed(self, before: Job | None, after: Job) -> None:
        """After each committed job change: an ended job takes no more bytes."""
        if after.job_state.is_terminal and not (before and before.job_state.is_terminal):
            self.forget_job(after.job_id)

    def _expire(self) -> None:
        now = self.clock()
        for table in (self._uploads, self._downloads):
            for token in [t for t, s in table.items() if s.expires < now]:
                del table[token]
