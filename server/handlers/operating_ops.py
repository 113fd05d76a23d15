"""Handlers of operating the service: usage, quotas, backup (stanzas/operating_ops.py)."""

from __future__ import annotations

import logging

from server.accounting import usage as accounting
from server.accounting.periods import Period, next_start, start_of
from server.backup import archive
from server.context import Caller, ServiceContext
from server.handlers.registry import operation
from server.handlers.roles import ADMIN, OPERATOR
from server.stores.quotas import ALL_QUEUES, Quota
from stanzas import operating_ops as ops
from stanzas.errors import BadRequest, NotFound, NotPossible

log = logging.getLogger(__name__)


@operation(ops.GetUsage, role=OPERATOR)
async def get_usage(ctx: ServiceContext, caller: Caller, req: ops.GetUsage) -> ops.UsageResponse:
    now = ctx.now()
    since = req.since if req.since is not None else start_of(Period.MONTHLY, now)
    until = req.until if req.until is not None else now + 1
    if until <= since:
        raise BadRequest("until must be after since")
    totals = await accounting.report(ctx.usage, ctx.groups, since, until, req.usage_by.value)
    rows = [
        ops.UsageRow(
            name=name,
            jobs=u.jobs,
            documents=u.documents,
            impressions=u.impressions,
            sheets=u.sheets,
            octets=u.octets,
        )
        for name, u in totals.items()
    ]
    return ops.UsageResponse(since=since, until=until, usage_by=req.usage_by, usage=rows)


@operation(ops.GetQuotas, role=OPERATOR)
async def get_quotas(ctx: ServiceContext, caller: Caller, req: ops.GetQuotas) -> ops.QuotasResponse:
    return await _quotas(ctx)


@operation(ops.SetQuota, role=ADMIN)
async def set_quota(ctx: ServiceContext, caller: Caller, req: ops.SetQuota) -> ops.QuotasResponse:
    if req.job_limit is None and req.impression_limit is None:
        raise BadRequest("a quota limits jobs, impressions or both")
    if req.printer_name is not None and await ctx.queues.get(req.printer_name) is None:
        raise NotFound(f"no queue {req.printer_name}")
    quota = Quota(
        subject_kind=req.subject_kind.value,
        subject=req.subject,
        printer_name=req.printer_name or ALL_QUEUES,
        quota_period=req.quota_period.value,
        job_limit=req.job_limit,
        impression_limit=req.impression_limit,
    )
    await ctx.quotas.put(quota)
    released = await ctx.quotas.release_held()  # a raised quota frees what now fits
    return await _quotas(ctx, [j.job_id for j in released])


@operation(ops.DeleteQuota, role=ADMIN)
async def delete_quota(
    ctx: ServiceContext, caller: Caller, req: ops.DeleteQuota
) -> ops.QuotasResponse:
    found = await ctx.quotas.delete(
        req.subject_kind.value,
        req.subject,
        req.printer_name or ALL_QUEUES,
        req.quota_period.value if req.quota_period else None,
    )
    if not found:
        which = f"{req.quota_period.value} " if req.quota_period else ""
        raise NotFound(f"no {which}quota of {req.subject}")
    released = await ctx.quotas.release_held()
    return await _quotas(ctx, [j.job_id for j in released])


async def _quotas(ctx: ServiceContext, released: list[int] | None = None) -> ops.QuotasResponse:
    now = ctx.now()
    statuses = []
    for quota in ctx.quotas.all:
        jobs, impressions = await ctx.quotas.used(quota, now)
        statuses.append(
            ops.QuotaStatus(
                subject_kind=ops.SubjectKind(quota.subject_kind),
                subject=quota.subject,
                printer_name=quota.printer_name or None,
                quota_period=ops.QuotaPeriod(quota.quota_period),
                job_limit=quota.job_limit,
                impression_limit=quota.impression_limit,
                jobs_used=jobs,
                impressions_used=impressions,
                quota_resets=next_start(Period(quota.quota_period), now),
            )
        )
    return ops.QuotasResponse(quota=statuses, released_job_ids=released or None)


@operation(ops.Backup, role=ADMIN)
async def backup(ctx: ServiceContext, caller: Caller, req: ops.Backup) -> ops.BackupResponse:
    """An online backup, written on the service's host in its backup_dir (a bare file
    name: the service writes nowhere else, and never over a file)."""
    target = ctx.settings.backup_folder() / req.backup_name
    ctx.job_log.flush()  # the log up to now is on disk beside it
    try:
        taken = await archive.take(ctx.settings.database, ctx.spool, target)
    except FileExistsError:
        raise NotPossible(f"{req.backup_name} exists in the backup folder; name another") from None
    log.info("backup by %s: %s, %s octets", caller.bare, taken.path, taken.size)
    return ops.BackupResponse(
        backup_name=req.backup_name,
        backup_path=str(taken.path),
        backup_size=taken.size,
        job_count=taken.jobs,
        document_count=taken.documents,
        store="sqlite",
    )
