"""EmailOut: a driver that sends each job's documents by email through an SMTP server.

The job flow is the print flow (create_job → send_document … last → get_job until
terminal); the "device" is the SMTP server the manager is configured with ([smtp] in
the manager's TOML: host, port, STARTTLS or TLS, login). The ticket's destination-uris
(mailto:) are the recipients; each document is one attachment, its SHA-256 in the body.
The message goes out once, after the last document arrived: a refused recipient, a
refused login or an unreachable server aborts the job with the server's reply (or the
connection error) in the job-state-message; nothing is retried, so nothing is sent twice.

Job states are kept in ``<spool>/<job-id>/job.json`` so get_job answers across restarts;
a job the manager died while sending is reported aborted ("may or may not have been
delivered"), never sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import mimetypes
import os
import smtplib
import ssl
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from stanzas.states import JobState

from .base import (
    DeviceCapabilities,
    DeviceDriver,
    DeviceJobStatus,
    DeviceJobTicket,
    DeviceRejected,
    DeviceStatus,
    DeviceUnreachable,
)
from .file import safe_file_name
from .sim import ChangeNotifier

__all__ = ["SmtpDriver", "SmtpSettings", "mailto_addresses"]

FORMATS = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/tiff",
    "image/pwg-raster",
    "application/postscript",
    "text/plain",
    "text/markdown",
    "text/csv",
    "application/octet-stream",
)


class SmtpSettings(BaseModel):
    """[smtp] in the manager's config: the server EmailOut jobs are sent through."""

    model_config = ConfigDict(extra="forbid")
    host: str
    port: int = 587
    # starttls: plain connection upgraded with STARTTLS (port 587); tls: TLS from the
    # start (port 465); none: no encryption (only for a relay on the same host).
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_address: str  # the envelope sender and From: header
    ca_file: Path | None = None  # the CA of the server's certificate (None: the system's)
    timeout: float = 60.0  # seconds for each exchange with the server
    # The message is built in memory (attachments base64-encoded): its documents may
    # add up to this many bytes; a bigger job is aborted with a message saying so.
    max_message_size: int = Field(default=25 << 20, ge=1)


def mailto_addresses(uris: tuple[str, ...] | list[str]) -> list[str]:
    """The addresses of mailto: URIs (RFC 6068); ValueError for anything else."""
    addresses: list[str] = []
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme.lower() != "mailto" or not parts.path:
            raise ValueError(f"{uri!r} is not a mailto: URI")
        for raw in unquote(parts.path).split(","):
            _, address = parseaddr(raw.strip())
            local, at, domain = address.rpartition("@")
            if not at or not local or not domain or any(c in address for c in "\r\n<> "):
                raise ValueError(f"{uri!r}: {raw!r} is not an email address")
            addresses.append(address)
    return addresses


@dataclass
class _MailJob:
    job_id: int
    job_name: str
    user: str
    recipients: list[str]
    state: str = "pending"
    reasons: list[str] = field(default_factory=lambda: ["job-incoming"])
    message: str = ""
    documents: list[tuple[str, str, str]] = field(default_factory=list)  # file, name, format

    def status(self) -> DeviceJobStatus:
        sent = 1 if self.state == "completed" else 0
        return DeviceJobStatus(
            self.job_id, JobState(self.state), tuple(self.reasons), self.message, sent
        )


class SmtpDriver(DeviceDriver):
    """EmailOut through one SMTP server; see the module docstring."""

    name = "smtp"

    def __init__(self, settings: SmtpSettings, spool_dir: Path) -> None:
        self.settings = settings
        self.spool_dir = spool_dir
        self._jobs: dict[int, _MailJob] = {}
        self._next_id = 1
        self._changes = ChangeNotifier()
        self._sending: set[asyncio.Task[None]] = set()

    # --- persistence --------------------------------------------------------------------
    def _job_dir(self, job_id: int) -> Path:
        return self.spool_dir / str(job_id)

    def _save(self, job: _MailJob) -> None:
        path = self._job_dir(job.job_id) / "job.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(job)))
        os.replace(tmp, path)

    def _load(self, job_id: int) -> _MailJob | None:
        try:
            data: dict[str, Any] = json.loads((self._job_dir(job_id) / "job.json").read_text())
            data["documents"] = [tuple(d) for d in data.get("documents", [])]
            return _MailJob(**data)
        except (OSError, ValueError, TypeError):
            return None

    async def _update(self, job: _MailJob, state: str, reasons: list[str], message: str) -> None:
        job.state, job.reasons, job.message = state, reasons, message[:1023]
        try:
            await asyncio.to_thread(self._save, job)
        except OSError as exc:
            raise DeviceUnreachable(f"cannot write job state in {self.spool_dir}: {exc}") from exc
        self._changes.notify()

    # --- driver API -----------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        ids = [int(p.name) for p in self.spool_dir.iterdir() if p.name.isdigit()]
        self._next_id = max(ids, default=0) + 1
        for job_id in ids:
            job = self._load(job_id)
            if job is not None and job.state == "processing":
                # Died while talking to the server: the message may have gone out.
                job.state, job.reasons = "aborted", ["aborted-by-system"]
                job.message = (
                    "the manager stopped while sending this email; it may or may not "
                    "have been delivered, and is not sent again"
                )
                self._save(job)

    async def close(self) -> None:
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)

    async def get_capabilities(self) -> DeviceCapabilities:
        return DeviceCapabilities(
            printer_make_and_model=f"EmailOut via {self.settings.host}",
            printer_info=f"sends documents by email from {self.settings.from_address}",
            document_format_supported=FORMATS,
            print_color_mode_supported=("auto",),
            copies_max=1,
            destination_uri_schemes_supported=("mailto",),
        )

    async def get_status(self) -> DeviceStatus:
        sending = any(j.state == "processing" for j in self._jobs.values())
        return DeviceStatus("processing" if sending else "idle")

    async def create_job(self, ticket: DeviceJobTicket) -> int:
        if not ticket.destination_uris:
            raise DeviceRejected(
                "client-error-bad-request", "an EmailOut job needs destination-uris (mailto:)"
            )
        try:
            recipients = mailto_addresses(ticket.destination_uris)
        except ValueError as exc:
            raise DeviceRejected(
                "client-error-attributes-or-values-not-supported", str(exc)
            ) from exc
        job_id = self._next_id
        self._next_id += 1
        job = _MailJob(job_id, ticket.job_name, ticket.requesting_user_name, recipients)
        try:
            await asyncio.to_thread(self._job_dir(job_id).mkdir, parents=True)
        except OSError as exc:
            raise DeviceUnreachable(f"cannot use {self.spool_dir}: {exc}") from exc
        self._jobs[job_id] = job
        await self._update(job, "pending", ["job-incoming"], "")
        return job_id

    async def _job(self, job_id: int) -> _MailJob | None:
        if job_id not in self._jobs:
            job = await asyncio.to_thread(self._load, job_id)
            if job is None:
                return None
            self._jobs[job_id] = job
        return self._jobs[job_id]

    async def send_document(
        self,
        job_id: int,
        data: AsyncIterator[bytes],
        document_format: str,
        document_name: str,
        last: bool,
        *,
        document_size: int | None = None,
    ) -> None:
        job = await self._job(job_id)
        if job is None or job.state != "pending":
            raise DeviceRejected("client-error-not-possible", f"job {job_id} takes no documents")
        name = safe_file_name(document_name or f"document-{len(job.documents) + 1}")
        path = self._job_dir(job_id) / f"{len(job.documents) + 1}-{name}"
        size = sum(Path(self._job_dir(job_id) / f).stat().st_size for f, _, _ in job.documents)
        with path.open("wb") as out:
            async for chunk in data:
                size += len(chunk)
                if size > self.settings.max_message_size:
                    out.close()
                    path.unlink(missing_ok=True)
                    raise DeviceRejected(
                        "client-error-request-entity-too-large",
                        f"the documents exceed the {self.settings.max_message_size} bytes "
                        "this manager sends by email",
                    )
                out.write(chunk)
        job.documents.append((path.name, name, document_format))
        if not last:
            await self._update(job, "pending", ["job-incoming"], "")
            return
        await self._update(job, "processing", ["job-transforming"], "sending the email")
        task = asyncio.create_task(self._deliver(job))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def get_job(self, job_id: int) -> DeviceJobStatus | None:
        self._changes.observed()
        job = await self._job(job_id)
        return None if job is None else job.status()

    async def cancel_job(self, job_id: int) -> None:
        job = await self._job(job_id)
        if job is None or job.state != "pending":
            return  # a message being sent or sent cannot be called back
        await self._update(job, "canceled", ["job-canceled-by-user"], "")
        await asyncio.to_thread(self._discard_documents, job)

    async def wait_for_change(self, timeout: float) -> None:
        await self._changes.wait(timeout)

    # --- delivery ---------------------------------------------------------------------------
    async def _deliver(self, job: _MailJob) -> None:
        try:
            reply, partly = await asyncio.to_thread(self._send, job)
        except DeliveryFailed as exc:
            state, reasons, message = "aborted", ["aborted-by-system"], str(exc)
        except Exception as exc:  # whatever it is, the job says so
            state, reasons, message = "aborted", ["aborted-by-system"], f"not sent: {exc}"
        else:
            # Some recipients refused, others took it: sent, with errors (RFC 8011).
            reason = "completed-with-errors" if partly else "job-completed-successfully"
            state, reasons, message = "completed", [reason], reply
        finally:
            # Before the end is reported: a job that has ended holds no documents.
            await asyncio.to_thread(self._discard_documents, job)
        await self._update(job, state, reasons, message)

    def _discard_documents(self, job: _MailJob) -> None:
        for name, _, _ in job.documents:
            with contextlib.suppress(OSError):
                (self._job_dir(job.job_id) / name).unlink()

    def _message(self, job: _MailJob) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.from_address
        msg["To"] = ", ".join(job.recipients)
        msg["Subject"] = job.job_name or "Documents"
        msg["Date"] = formatdate(localtime=True)
        msg["Message-ID"] = make_msgid(domain=self.settings.from_address.rpartition("@")[2])
        lines = [f"{len(job.documents)} document(s) sent by {job.user} through Cirrus:", ""]
        attachments: list[tuple[bytes, str, str]] = []
        for file_name, name, document_format in job.documents:
            data = (self._job_dir(job.job_id) / file_name).read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            lines.append(f"{name} ({document_format}, {len(data)} bytes, SHA-256 {digest})")
            attachments.append((data, name, document_format))
        msg.set_content("\n".join(lines) + "\n")
        for data, name, document_format in attachments:
            if not mimetypes.guess_extension(document_format) and "." not in name:
                name = f"{name}.bin"
            maintype, _, subtype = document_format.partition("/")
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return msg

    def _send(self, job: _MailJob) -> tuple[str, bool]:
        """One SMTP session: the server's reply to the message and whether some
        recipients were refused; DeliveryFailed when it was not sent."""
        s = self.settings
        msg = self._message(job)
        context = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
        try:
            smtp: smtplib.SMTP
            if s.security == "tls":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(
                f"could not reach the SMTP server {s.host}:{s.port}: {exc}"
            ) from exc
        with smtp:
            try:
                smtp.ehlo()
                if s.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if s.username:
                    smtp.login(s.username, s.password or "")
                code, text = smtp.mail(s.from_address)
                if code != 250:
                    raise DeliveryFailed(f"the SMTP server refused the sender: {code} {_t(text)}")
                refused = []
                for rcpt in job.recipients:
                    code, text = smtp.rcpt(rcpt)
                    if code not in (250, 251):
                        refused.append(f"{rcpt}: {code} {_t(text)}")
                if len(refused) == len(job.recipients):
                    smtp.rset()
                    raise DeliveryFailed("the SMTP server refused " + "; ".join(refused))
                # SMTP wants CRLF line ends; smtplib fixes them only in str messages.
                code, text = smtp.data(msg.as_bytes(policy=policy.SMTP))
                if code != 250:
                    raise DeliveryFailed(f"the SMTP server refused the message: {code} {_t(text)}")
            except smtplib.SMTPResponseException as exc:
                raise DeliveryFailed(f"SMTP {exc.smtp_code} {_t(exc.smtp_error)}") from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryFailed(f"SMTP session with {s.host}:{s.port} failed: {exc}") from exc
        delivered = [r for r in job.recipients if not any(x.startswith(f"{r}:") for x in refused)]
        reply = f"sent to {', '.join(delivered)}: {code} {_t(text)}"
        if refused:
            reply += "; refused " + "; ".join(refused)
        return reply, bool(refused)


class DeliveryFailed(Exception):
    """The message was not sent; the text says why, with the server's reply."""


def _t(text: bytes | str) -> str:
    value = text.decode(errors="replace") if isinstance(text, bytes) else text
    return " ".join(value.split())[:400]
