"""An IPP Print-Job through the gateway while the service drops off the XMPP server right
after the job is committed and before its answer leaves: the gateway's client library
sends the CreateJob again with its idempotency key, the service answers with the job
it made, and the IPP client gets that one job, printed once by the device."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from ipp.client import IppClient
from server.app import ServiceApp
from server.handlers import job_ops
from tests.integration import test_gateway_ipptool as base
from tests.integration.test_gateway_http import _auth
from tests.integration.test_gateway_ipptool import GatewayStack, make_pdf

printer = base.printer
gateway_stack = base.gateway_stack
WAIT = 60.0


async def test_a_print_job_whose_answer_was_lost_is_one_job_printed_once(
    service: ServiceApp,
    gateway_stack: GatewayStack,
    short_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    component = service.component
    assert component is not None
    dropped = asyncio.Event()

    def drop_the_connection(point: str) -> None:
        """The service's XMPP connection breaks once the job is committed (it
        reconnects by itself, as after any loss)."""
        if point == "after-create-commit" and not dropped.is_set():
            dropped.set()
            assert component.transport is not None
            component.transport.abort()

    monkeypatch.setattr(job_ops, "crash_point", drop_the_connection)
    ended = asyncio.Event()
    service.service.job_states.listeners.append(
        lambda _before, after: ended.set() if after.job_state.is_terminal else None
    )
    pdf = make_pdf(short_tmp / "a.pdf").read_bytes()
    auth = {"Authorization": _auth("alice", gateway_stack.passwords["alice"])}
    async with aiohttp.ClientSession(headers=auth) as http:
        client = IppClient(gateway_stack.uri(None), session=http, requesting_user_name="alice")
        job_id = await asyncio.wait_for(
            client.print_job(pdf, "application/pdf", "lost answer"), WAIT
        )
        assert dropped.is_set()
        await asyncio.wait_for(ended.wait(), WAIT)

    rows = await service.service.db.fetchall("SELECT job_id, job_state FROM jobs")
    assert [(r["job_id"], r["job_state"]) for r in rows] == [(job_id, "completed")]
    async with IppClient(gateway_stack.printer.uri) as device:
        printed = await device.get_jobs("completed", ["job-id"])
    assert len(printed) == 1  # the device printed it once
