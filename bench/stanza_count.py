"""Stanzas per job, counted where they all pass: in Prosody, on each c2s session.

Every stanza between a client or a manager and the service crosses the c2s session of
that client or manager, so a filter on each c2s session's stanzas in and out (Prosody's
util.filters, the hook mod_stanza_debug uses) counts them all without touching the
service's or the manager's code: what a session sends is what its process sent; what it
is sent, its process received. The service's own counts are the sums (what every
session sent to the service's JID, what every session received from it); its pushes are
the messages among them. Stanzas a session exchanges with the server itself (roster,
disco, ping) and stream-management elements (XEP-0198 <r/>, <a/>) are counted apart.

The filter is installed into the running Prosody through its admin shell (`prosodyctl
shell`, one Lua chunk) before the service and the sessions connect, and read the same
way: one table increment per stanza, nothing else changes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from typing import Any

from bench.common import ChildFailed
from cirrus.stack.xmpp import XmppServer
from prosody_config.launcher import ProsodyInstance, lua_str

NOT_COUNTED = "not counted (the counter is a filter in Prosody; this run's server is not)"

_INSTALL = (
    ">local filters, C = require'util.filters', {}; prosody.cirrus_bench_stanzas = C; "
    "local svc = {service}; "
    "local function peer(j) if j and (j == svc or j:sub(1, #svc + 1) == svc .. '/') "
    "then return 'service' end return 'server' end; "
    "local function kind(st) if st.name == 'iq' then return 'iq-' .. (st.attr.type or '?') end "
    "if st.attr.xmlns and st.attr.xmlns:match('^urn:xmpp:sm:') then return 'sm' end "
    "return st.name end; "
    "local function bump(session, dir, j, st) if session.type ~= 'c2s' "
    "or type(st) ~= 'table' or not st.name then return end; "
    "local k = (session.username or '?') .. ' ' .. dir .. ' ' .. peer(j) .. ' ' .. kind(st); "
    "C[k] = (C[k] or 0) + 1 end; "
    "local function fin(st, session) bump(session, 'sent', st and st.attr and st.attr.to, st); "
    "return st end; "
    "local function fout(st, session) "
    "bump(session, 'received', type(st) == 'table' and st.attr and st.attr.from, st); "
    "return st end; "
    "filters.add_filter_hook(function(session) "
    "filters.add_filter(session, 'stanzas/in', fin, 2000); "
    "filters.add_filter(session, 'stanzas/out', fout, 2000) end); "
    "return 'CIRRUS-OK'"
)
_READ = (
    ">local C = prosody.cirrus_bench_stanzas; "
    "if not C then return 'CIRRUS-FAIL not installed' end; "
    "return 'CIRRUS-COUNTS ' .. require'util.json'.encode(C)"
)


async def _shell(prosody: ProsodyInstance, chunk: str) -> str:
    prosodyctl = shutil.which("prosodyctl")
    if prosodyctl is None:
        raise ChildFailed("prosodyctl not found")
    env = dict(os.environ)
    env.pop("PROSODY_CONFIG", None)
    proc = await asyncio.create_subprocess_exec(
        prosodyctl,
        "--config",
        str(prosody.config_file),
        "shell",
        "--quiet",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=prosody.state_dir,
        env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate((chunk + "\nquit\n").encode()), 60)
    return out.decode(errors="replace")


async def install(server: XmppServer, service_jid: str) -> bool:
    """Count every stanza of every c2s session opened from now on; False (nothing
    counted) when the server is not Prosody (CIRRUS_BENCH_XMPP=ejabberd)."""
    if not isinstance(server, ProsodyInstance):
        return False
    out = await _shell(server, _INSTALL.replace("{service}", lua_str(service_jid)))
    if "CIRRUS-OK" not in out:
        raise ChildFailed(f"could not install the stanza counter in Prosody: {out[-1000:]}")
    return True


async def snapshot(server: XmppServer) -> dict[str, int]:
    """Counts so far: "USER sent|received service|server KIND" → stanzas."""
    assert isinstance(server, ProsodyInstance)
    out = await _shell(server, _READ)
    found = re.search(r"CIRRUS-COUNTS (\{.*\}|\[\])", out)
    if found is None:
        raise ChildFailed(f"could not read the stanza counter: {out[-1000:]}")
    got = json.loads(found.group(1))
    return {} if isinstance(got, list) else {k: int(v) for k, v in got.items()}


def per_job(
    before: dict[str, int], after: dict[str, int], jobs: int, roles: dict[str, str]
) -> dict[str, Any]:
    """Stanzas per job by process, from two snapshots. roles: account → "client" or
    "manager" (other accounts are left out)."""
    sums: dict[tuple[str, str, str, str], int] = {}
    for key, count in after.items():
        user, direction, peer, kind = key.split(" ", 3)
        role = roles.get(user)
        delta = count - before.get(key, 0)
        if role is None or delta <= 0:
            continue
        k = (role, direction, peer, kind)
        sums[k] = sums.get(k, 0) + delta

    def total(role: str | None, direction: str, peer: str, kinds: tuple[str, ...] = ()) -> float:
        n = sum(
            v
            for (r, d, p, kind), v in sums.items()
            if (role is None or r == role) and d == direction and p == peer
            if not kinds or kind in kinds
        )
        return round(n / jobs, 2)

    out: dict[str, Any] = {}
    for role in ("client", "manager"):
        out[role] = {
            "sent": total(role, "sent", "service"),
            "received": total(role, "received", "service"),
            "pushes_received": total(role, "received", "service", ("message",)),
        }
    out["service"] = {
        "sent": total(None, "received", "service"),
        "received": total(None, "sent", "service"),
        "pushes_sent": total(None, "received", "service", ("message",)),
        "iq_requests_received": total(None, "sent", "service", ("iq-get", "iq-set")),
    }
    out["with_the_service"] = round(out["service"]["sent"] + out["service"]["received"], 2)
    out["with_the_server"] = round(
        total(None, "sent", "server") + total(None, "received", "server"), 2
    )
    out["by_kind"] = {
        f"{r} {d} {p} {kind}": round(v / jobs, 2) for (r, d, p, kind), v in sorted(sums.items())
    }
    return out
