"""The gateway's HTTP side with real parts: authentication, Expect: 100-continue, chunked
and large streamed bodies, ipps, and ippget notifications fed by the service's pushes."""

from __future__ import annotations

import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from gateway.app import GatewayApp
from ipp.client import IppClient
from ipp.codec import IppRequest, decode, encode
from ipp.constants import GroupTag, Operation, StatusCode
from manager.drivers.sim import SimDriver
from tests.conftest import Harness
from tests.integration import test_gateway_ipptool as base
from tests.integration.test_gateway_ipptool import GatewayStack, gateway_config, make_pdf

printer = base.printer
gateway_stack = base.gateway_stack


def _auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def _post(url: str, body: bytes | AsyncIterator[bytes], **headers: str) -> tuple[int, bytes]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            url, data=body, headers={"Content-Type": "application/ipp", **headers}
        ) as response,
    ):
        return response.status, await response.read()


def _print_job(uri: str, request_id: int = 1) -> bytes:
    return encode(
        IppRequest(Operation.PRINT_JOB, request_id).operation_attributes(
            printer_uri=uri, requesting_user_name="alice", document_format="application/pdf"
        )
    )


async def test_credentials_are_checked_against_the_xmpp_account(
    gateway_stack: GatewayStack, short_tmp: Path
) -> None:
    uri = gateway_stack.uri(None)
    url = uri.replace("ipp://", "http://")
    pdf = make_pdf(short_tmp / "a.pdf").read_bytes()
    status, _ = await _post(url, _print_job(uri) + pdf)
    assert status == 401  # no credentials
    status, _ = await _post(url, _print_job(uri) + pdf, Authorization=_auth("alice", "nope"))
    assert status == 401  # refused by Prosody
    # Public: Get-Printer-Attributes needs no account.
    async with IppClient(uri) as client:
        attrs = await client.get_printer_attributes(["printer-state", "finishings-supported"])
    assert attrs.first("printer-state") in (3, 4, 5)


async def test_chunked_large_body_with_expect_continue_is_streamed(
    gateway_stack: GatewayStack, harness: Harness
) -> None:
    """A 3 MiB document in 64 KiB chunks (chunked encoding, Expect: 100-continue)."""
    uri = gateway_stack.uri(None)
    url = uri.replace("ipp://", "http://")
    pdf = bytearray(make_pdf(harness.tmp / "big.pdf").read_bytes())
    pdf[-6:-6] = b"%" + b"x" * (3 * 1024 * 1024) + b"\n"  # a comment: still a PDF

    async def chunks() -> AsyncIterator[bytes]:
        yield _print_job(uri, 7)
        for start in range(0, len(pdf), 64 * 1024):
            yield bytes(pdf[start : start + 64 * 1024])

    auth = _auth("alice", gateway_stack.passwords["alice"])
    status, body = await _post(url, chunks(), Authorization=auth, Expect="100-continue")
    assert status == 200
    response, _ = decode(body)
    assert response.status_code == StatusCode.SUCCESSFUL_OK, response.describe()
    assert response.request_id == 7
    job_id = response.first("job-id", group=GroupTag.JOB)
    alice = await harness.client("alice")
    final = await _until_terminal(alice, gateway_stack, job_id)
    assert final.job_state.value == "completed"
    assert any(p.stat().st_size == len(pdf) for p in gateway_stack.printer.output_files())


async def _until_terminal(client, stack: GatewayStack, job_id: int):  # type: ignore[no-untyped-def]
    subscriptions = stack.app.gateway.subscriptions
    for _ in range(100):
        job = await client.get_job(job_id)
        if job.job_state.is_terminal:
            return job
        await subscriptions.wait(2.0)  # woken by the gateway session's pushes
    raise AssertionError(f"job {job_id} did not end")


async def test_ippget_notifications_follow_a_job(
    gateway_stack: GatewayStack, short_tmp: Path
) -> None:
    auth = _auth("alice", gateway_stack.passwords["alice"])
    async with aiohttp.ClientSession(headers={"Authorization": auth}) as session:
        client = IppClient(gateway_stack.uri(None), session=session)
        try:
            job_id = await client.create_job("notify me")
            req = client.new_request(Operation.CREATE_JOB_SUBSCRIPTIONS)
            req.operation_attributes(notify_job_id=job_id)
            sub = req.add_group(GroupTag.SUBSCRIPTION)
            sub.add("notify-pull-method", "ippget")
            sub.add("notify-events", ["job-state-changed"])
            resp = await client.request(req)
            sid = resp.first("notify-subscription-id", group=GroupTag.SUBSCRIPTION)
            pdf = make_pdf(short_tmp / "n.pdf").read_bytes()
            await client.send_document(job_id, pdf, "application/pdf")
            events: list[str] = []
            sequence = 1
            for _ in range(20):
                req = client.new_request(Operation.GET_NOTIFICATIONS)
                req.operation_attributes(
                    notify_subscription_ids=[sid],
                    notify_sequence_numbers=[sequence],
                    notify_wait=True,
                )
                resp = await client.request(req)
                for group in resp.groups_of(GroupTag.EVENT_NOTIFICATION):
                    sequence = group.first("notify-sequence-number") + 1
                    events.append(
                        f"{group.first('notify-subscribed-event')}:{group.first('job-state')}"
                    )
                if resp.status_code == StatusCode.SUCCESSFUL_OK_EVENTS_COMPLETE:
                    break
            assert events and events[-1] == "job-completed:9", events
        finally:
            await client.close()


async def test_ipps_listener(service, harness: Harness) -> None:  # type: ignore[no-untyped-def]
    await harness.manager(SimDriver())
    config = gateway_config(harness)
    config.listen.tls_port = 0
    config.listen.cert_file = harness.prosody.cert_file
    config.listen.key_file = harness.prosody.key_file
    app = GatewayApp(config, directory=base.directory_for(service))
    await app.start()
    try:
        context = ssl.create_default_context(cafile=str(harness.prosody.ca_file))
        uri = app.uri("office", tls=True).replace("127.0.0.1", "localhost")
        async with IppClient(uri, ssl=context) as client:
            attrs = await client.get_printer_attributes(
                ["printer-uri-supported", "uri-security-supported"]
            )
        assert any(u.startswith("ipps://") for u in attrs.values("printer-uri-supported"))
        assert "tls" in attrs.values("uri-security-supported")
    finally:
        await app.stop()
