"""Payloads of operating the service: accounting (what users, groups and queues used),
quotas, and the online backup. Cirrus operations, not the seeds' (seed 000 asks for the
log "necessary for accounting"; the quotas are CUPS's open request, issue 495).

Reads (GetUsage, GetQuotas) are IQ get, the rest IQ set. Usage and quotas are for
operators and administrators; changing quotas and taking a backup for administrators.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from stanzas.model import Element, Payload
from stanzas.types import Count, EpochSeconds, Name, Octets, QueueName, Text


class UsageBy(StrEnum):
    USER = "user"  # job-originating-user-name
    QUEUE = "queue"  # printer-name
    GROUP = "group"  # the service's groups (a user in two groups counts in both)


class QuotaPeriod(StrEnum):
    """When a quota's count starts again (the service host's local midnight)."""

    DAILY = "daily"
    WEEKLY = "weekly"  # Monday
    MONTHLY = "monthly"  # the first of the month


class SubjectKind(StrEnum):
    USER = "user"  # a bare JID
    GROUP = "group"  # a group's name


# A file name for a backup: no folders (it is written in the service's backup_dir).
BackupName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")]


class UsageRow(Element):
    """What the jobs of one user, queue or group that ended in the period used."""

    name: Name  # the user (bare JID), queue or group
    jobs: Count
    documents: Count
    impressions: Count  # job-impressions-completed, as the devices reported them
    sheets: Count  # job-media-sheets-completed
    octets: Octets  # the documents' data


class GetUsage(Payload):
    ELEMENT = "GetUsage"
    since: EpochSeconds | None = None  # default: the start of this month
    until: EpochSeconds | None = None  # default: now
    usage_by: UsageBy = UsageBy.USER


class UsageResponse(Payload):
    ELEMENT = "UsageResponse"
    since: EpochSeconds
    until: EpochSeconds
    usage_by: UsageBy
    usage: list[UsageRow] = Field(default_factory=list)


class QuotaStatus(Element):
    """A quota and how much of it is used in the current period."""

    subject_kind: SubjectKind
    subject: Name
    printer_name: QueueName | None = None
    quota_period: QuotaPeriod
    job_limit: Count | None = None  # absent: jobs are not limited
    impression_limit: Count | None = None  # absent: impressions are not limited
    jobs_used: Count
    impressions_used: Count
    quota_resets: EpochSeconds  # when the period starts again


class SetQuota(Payload):
    """Create or replace a quota; jobs held over quota that now fit are released."""

    ELEMENT = "SetQuota"
    subject_kind: SubjectKind
    subject: Name
    printer_name: QueueName | None = None
    quota_period: QuotaPeriod
    job_limit: Count | None = None
    impression_limit: Count | None = None


class DeleteQuota(Payload):
    """Remove the subject's quota of that period (of every period, with none) on that
    queue (or on every queue, with none)."""

    ELEMENT = "DeleteQuota"
    subject_kind: SubjectKind
    subject: Name
    printer_name: QueueName | None = None
    quota_period: QuotaPeriod | None = None


class GetQuotas(Payload):
    ELEMENT = "GetQuotas"


class QuotasResponse(Payload):
    ELEMENT = "QuotasResponse"
    quota: list[QuotaStatus] = Field(default_factory=list)
    released_job_ids: list[Count] | None = None  # held jobs the change released


class Backup(Payload):
    """A consistent online backup of the service's database and the spool data of its
    documents, written as one archive on the service's host, in its backup_dir."""

    ELEMENT = "Backup"
    backup_name: BackupName


class BackupResponse(Payload):
    ELEMENT = "BackupResponse"
    backup_name: BackupName
    backup_path: Text  # where it is, on the service's host
    backup_size: Octets
    job_count: Count
    document_count: Count  # documents whose data is in the archive
    store: Name  # sqlite or postgresql
