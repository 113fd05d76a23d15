"""The device-driver interface: how the Device Manager talks to one Imaging Device.

A driver hides the device's own protocol (IPP, a folder, a simulation) behind the
few operations the manager needs. States and reasons are IPP keywords (RFC 8011)
so the manager can report them to the service unchanged.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from stanzas.states import JobState
from stanzas.states import JobStateReason as R


@dataclass(frozen=True)
class DeviceStatus:
    """The device's printer-state group (RFC 8011 §5.4.11-13)."""

    printer_state: str  # "idle" | "processing" | "stopped"
    printer_state_reasons: tuple[str, ...] = ("none",)
    printer_state_message: str = ""
    printer_is_accepting_jobs: bool = True


@dataclass(frozen=True)
class DeviceCapabilities:
    """What the device supports, named as the IPP Printer attributes it comes from."""

    printer_make_and_model: str = ""
    printer_info: str = ""
    document_format_supported: tuple[str, ...] = ("application/pdf",)
    media_supported: tuple[str, ...] = ()
    media_default: str = ""
    sides_supported: tuple[str, ...] = ("one-sided",)
    sides_default: str = "one-sided"
    print_color_mode_supported: tuple[str, ...] = ("auto",)
    print_color_mode_default: str = "auto"
    print_quality_supported: tuple[int, ...] = (4,)  # 3 draft, 4 normal, 5 high
    finishings_supported: tuple[int, ...] = (3,)  # 3 = none
    copies_max: int = 999
    # What raster the device takes, for the transform (manager/transform/): PWG 5102.4
    # pwg-raster-document-resolution-supported (dpi, square), -type-supported
    # (sgray_8, srgb_8 …) and -sheet-back (how a back side is oriented); Apple's
    # urf-supported keywords (RS300-600, W8, SRGB24, DM1 …).
    pwg_raster_document_resolution_supported: tuple[int, ...] = ()
    pwg_raster_document_type_supported: tuple[str, ...] = ()
    pwg_raster_document_sheet_back: str = ""
    urf_supported: tuple[str, ...] = ()
    printer_resolution_supported: tuple[int, ...] = ()  # dpi, for PCL and PostScript output
    # EmailOut and FaxOut: the URI schemes the device sends to (mailto, tel).
    destination_uri_schemes_supported: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceJobTicket:
    """The job ticket the manager hands to a device (names as IPP Job Template attributes)."""

    job_name: str
    requesting_user_name: str
    copies: int = 1
    media: str | None = None
    sides: str | None = None
    print_color_mode: str | None = None
    print_quality: int | None = None
    # Where EmailOut and FaxOut send the documents (PWG 5100.15 destination-uris:
    # mailto: or tel: URIs); empty for Print.
    destination_uris: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DeviceJobStatus:
    """The device job's state group (RFC 8011 §5.3.7-9), as the device reports it."""

    job_id: int
    job_state: JobState  # a keyword is taken too, and made the enum
    job_state_reasons: tuple[str, ...] = ("none",)
    job_state_message: str = ""
    job_impressions_completed: int = 0
    job_media_sheets_completed: int = 0  # sheets of paper, as the device counts them
    # Whether the device has begun processing the job (IPP time-at-processing has a
    # value): a job that ended without ever processing printed nothing. None: the
    # device does not say.
    processing_began: bool | None = None
    # The document data the device holds for the job, in K octets rounded up
    # (job-k-octets); None: the device does not say.
    job_k_octets: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.job_state, JobState):
            object.__setattr__(self, "job_state", JobState(self.job_state))

    @property
    def is_terminal(self) -> bool:
        return self.job_state.is_terminal

    @classmethod
    def aborted(
        cls, job_id: int | None, message: str, reasons: tuple[str, ...] = ()
    ) -> DeviceJobStatus:
        """The report of a device job the manager gives up on: aborted-by-system (and
        `reasons`), with `message` saying why (the one way these reports are made)."""
        return cls(job_id or 0, JobState.ABORTED, (R.ABORTED_BY_SYSTEM, *reasons), message)


class DeviceRejected(Exception):
    """The device refused a job or document; `status` is the IPP status keyword."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class DeviceUnreachable(Exception):
    """The device could not be reached; the job stays with the manager and is retried."""


class DeviceDriver(abc.ABC):
    """One Imaging Device. Every method may raise DeviceUnreachable.

    The job flow the manager drives, in order (the print-at-most-once rule depends on it):
    create_job → (AcknowledgeJob to the service) → send_document for each document (last=True on the
    last) → get_job until terminal. cancel_job may come at any point after create_job.
    """

    name: str = "driver"
    # Where the manager may put a document while it fetches and checks it, so that the
    # driver can then take it whole without a copy (a folder on the device's own file
    # system that the device does not treat as output). None: the manager's spool.
    staging_dir: Path | None = None

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections or resources; called once before anything else."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what start() opened."""

    @abc.abstractmethod
    async def get_capabilities(self) -> DeviceCapabilities: ...

    @abc.abstractmethod
    async def get_status(self) -> DeviceStatus: ...

    @abc.abstractmethod
    async def create_job(self, ticket: DeviceJobTicket) -> int:
        """Create a device job with no document yet; returns the device's job-id.
        Raises DeviceRejected when the device will not take the job."""

    @abc.abstractmethod
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
        """Stream one document into the device job (never holding it whole in memory).
        `document_size`: its length in octets, when known (a device that is told the
        length can tell a cut-off send from a whole one). Raises DeviceRejected when
        the device refuses it."""

    @abc.abstractmethod
    async def get_job(self, job_id: int) -> DeviceJobStatus | None:
        """The device job's status, or None when the device does not know the job.
        processing_began and job_k_octets tell the manager, after a cut-off send, what
        the device got (manager/cut_off.py); a driver that cannot say leaves them None."""

    @abc.abstractmethod
    async def cancel_job(self, job_id: int) -> None:
        """Ask the device to cancel; the job reaches 'canceled' as get_job later shows."""

    async def identify(self, actions: list[str], message: str | None) -> None:  # noqa: B027
        """Make the device show itself (IPP Identify-Printer); a device that cannot do
        anything of the kind ignores it."""

    async def suspend_job(self, job_id: int) -> None:
        """Pause a job the device is processing (SuspendCurrent<Service>Job); devices
        that cannot say so."""
        raise DeviceRejected("server-error-operation-not-supported", f"{self.name} cannot suspend")

    async def resume_job(self, job_id: int) -> None:
        """Undo suspend_job."""
        raise DeviceRejected("server-error-operation-not-supported", f"{self.name} cannot resume")

    async def wait_for_change(self, timeout: float) -> None:
        """Wait until the device may have changed (job or printer), or timeout seconds.
        Drivers that can be told of changes override this; the default just waits."""
        import asyncio

        await asyncio.sleep(timeout)
