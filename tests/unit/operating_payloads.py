"""Every payload of operating the service (stanzas/operating_ops.py), fully populated and
minimal, for the tier-1 tests in test_stanzas.py."""

from __future__ import annotations

from stanzas import operating_ops as o
from stanzas.model import Payload

ROW = o.UsageRow(
    name="alice@localhost", jobs=12, documents=14, impressions=57, sheets=31, octets=1_482_113
)
QUOTA = o.QuotaStatus(
    subject_kind=o.SubjectKind.GROUP,
    subject="staff",
    printer_name="office",
    quota_period=o.QuotaPeriod.MONTHLY,
    job_limit=100,
    impression_limit=2000,
    jobs_used=12,
    impressions_used=57,
    quota_resets=1_751_320_800,
)
FULL: dict[str, Payload] = {
    "GetUsage": o.GetUsage(since=1_748_728_800, until=1_751_320_800, usage_by=o.UsageBy.QUEUE),
    "UsageResponse": o.UsageResponse(
        since=1_748_728_800, until=1_751_320_800, usage_by=o.UsageBy.USER, usage=[ROW]
    ),
    "GetQuotas": o.GetQuotas(),
    "SetQuota": o.SetQuota(
        subject_kind=o.SubjectKind.GROUP,
        subject="staff",
        printer_name="office",
        quota_period=o.QuotaPeriod.MONTHLY,
        job_limit=100,
        impression_limit=2000,
    ),
    "DeleteQuota": o.DeleteQuota(
        subject_kind=o.SubjectKind.USER,
        subject="alice@localhost",
        printer_name="office",
        quota_period=o.QuotaPeriod.DAILY,
    ),
    "QuotasResponse": o.QuotasResponse(quota=[QUOTA], released_job_ids=[41, 42]),
    "Backup": o.Backup(backup_name="cirrus-2025-06-30.tar"),
    "BackupResponse": o.BackupResponse(
        backup_name="cirrus-2025-06-30.tar",
        backup_path="/var/lib/cirrus-service/backups/cirrus-2025-06-30.tar",
        backup_size=1_204_224,
        job_count=310,
        document_count=4,
        store="sqlite",
    ),
}
MINIMAL: dict[str, Payload] = {
    "GetUsage": o.GetUsage(),
    "UsageResponse": o.UsageResponse(since=0, until=1, usage_by=o.UsageBy.USER),
    "GetQuotas": o.GetQuotas(),
    "SetQuota": o.SetQuota(
        subject_kind=o.SubjectKind.USER, subject="alice@localhost", quota_period="weekly"
    ),
    "DeleteQuota": o.DeleteQuota(subject_kind=o.SubjectKind.USER, subject="alice@localhost"),
    "QuotasResponse": o.QuotasResponse(),
    "Backup": FULL["Backup"],
    "BackupResponse": FULL["BackupResponse"],
}

NESTED = (o.UsageRow, o.QuotaStatus)
