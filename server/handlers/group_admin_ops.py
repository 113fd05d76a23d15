"""Handlers of the administrators' group operations: the service's own groups of users,
which a queue's permissions (allowed-groups) name."""

from __future__ import annotations

from server.context import Caller, ServiceContext
from server.handlers.registry import operation
from server.handlers.roles import ADMIN, OPERATOR
from stanzas import admin_ops as ops


async def _groups(ctx: ServiceContext) -> ops.GroupsResponse:
    return ops.GroupsResponse(
        group=[ops.Group(group_name=n, members=m) for n, m in (await ctx.groups.all()).items()]
    )


@operation(ops.ListGroups, role=OPERATOR)
async def list_groups(
    ctx: ServiceContext, caller: Caller, req: ops.ListGroups
) -> ops.GroupsResponse:
    return await _groups(ctx)


@operation(ops.AddGroupMembers, role=ADMIN)
async def add_group_members(
    ctx: ServiceContext, caller: Caller, req: ops.AddGroupMembers
) -> ops.GroupsResponse:
    async with ctx.db.transaction():
        await ctx.groups.add(req.group_name, dict.fromkeys(req.members))
    return await _groups(ctx)


@operation(ops.RemoveGroupMembers, role=ADMIN)
async def remove_group_members(
    ctx: ServiceContext, caller: Caller, req: ops.RemoveGroupMembers
) -> ops.GroupsResponse:
    async with ctx.db.transaction():
        await ctx.groups.remove(req.group_name, req.members)
    return await _groups(ctx)
