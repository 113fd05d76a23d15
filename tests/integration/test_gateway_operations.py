"""The gateway's operations with real parts (Prosody, the service, a manager with an
ippeveprinter): holds asked for where clients ask for them, attributes that are not
honoured named, compression, the queue's own time-out settings, printer administration
onto the seeds' Table 2, the document operations, and printer events for ippget
subscribers from the service's pushes."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from gateway.app import GatewayApp
from ipp.client import IppClient, IppError
from ipp.codec import IppMessage, IppValue
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag
from manager.drivers.sim import SimDriver
from stanzas import admin_ops
from stanzas.groups import QueueConfiguration
from tests.conftest import Harness
from tests.integration import test_gateway_ipptool as base
from tests.integration.test_gateway_http import _auth, _until_terminal
from tests.integration.test_gateway_ipptool import GatewayStack, gateway_config, make_pdf

printer = base.printer
gateway_stack = base.gateway_stack
S = StatusCode
T = ValueTag
USERS = ("alice", "bob", "operator", "admin")


async def _clients(uri: str, passwords: dict[str, str]) -> AsyncIterator[dict[str, IppClient]]:
    sessions = [
        aiohttp.ClientSession(headers={"Authorization": _auth(u, passwords[u])}) for u in USERS
    ]
    clients = {
        user: IppClient(uri, session=http, requesting_user_name=user)
        for user, http in zip(USERS, sessions, strict=True)
    }
    try:
        yield clients
    finally:
        for http in sessions:
            await http.close()


@pytest.fixture
async def ipp_as(gateway_stack: GatewayStack) -> AsyncIterator[dict[str, IppClient]]:
    """An IppClient per user, each with its own HTTP Basic credentials."""
    async for clients in _clients(gateway_stack.uri(None), gateway_stack.passwords):
        yield clients


def _unsupported(response: IppMessage) -> dict[str, list[int]]:
    group = response.group(GroupTag.UNSUPPORTED)
    return {a.name: [int(v.tag) for v in a.values] for a in group.attributes} if group else {}


async def _job(client: IppClient, job_id: int) -> IppMessage:
    req = client.new_request(Operation.GET_JOB_ATTRIBUTES)
    req.operation_attributes(job_id=job_id)
    return await client.request(req)


async def _printer(client: IppClient, *names: str) -> IppMessage:
    req = client.new_request(Operation.GET_PRINTER_ATTRIBUTES)
    req.operation_attributes(requested_attributes=list(names))
    return await client.request(req)


# ------------------------------------------------------------------ holds and ignored attributes


async def test_a_hold_asked_for_in_the_operation_group_holds_the_job(
    gateway_stack: GatewayStack, ipp_as: dict[str, IppClient], harness: Harness, short_tmp: Path
) -> None:
    """CUPS' print-job-hold.test sends job-hold-until in the operation group, and cupsd and
    ippeveprinter honour it there: the job waits until Release-Job. What the gateway does
    not honour comes back in unsupported-attributes with
    successful-ok-ignored-or-substituted-attributes, never silently."""
    alice = ipp_as["alice"]
    pdf = make_pdf(short_tmp / "held.pdf").read_bytes()
    req = alice.new_request(Operation.PRINT_JOB)
    req.operation_attributes(
        document_format="application/pdf",
        job_hold_until="indefinite",
        x_cirrus_made_up="1",  # an operation attribute no standard defines
        job_k_octets=1,  # one the gateway does not use
    )
    req.job_attributes(print_scaling="fit")  # a template the cloud ticket has no place for
    response = await alice.request(req, pdf)
    assert response.status_code == S.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
    assert _unsupported(response) == {
        "x-cirrus-made-up": [T.UNSUPPORTED],
        "job-k-octets": [T.UNSUPPORTED],
        "print-scaling": [T.UNSUPPORTED],
    }
    job_id = response.first("job-id", group=GroupTag.JOB)
    job = await _job(alice, job_id)
    assert job.first("job-state", group=GroupTag.JOB) == 4  # pending-held
    assert "job-hold-until-specified" in job.values("job-state-reasons", group=GroupTag.JOB)
    assert not gateway_stack.printer.output_files()
    release = alice.new_request(Operation.RELEASE_JOB)
    release.operation_attributes(job_id=job_id)
    await alice.request(release)
    final = await _until_terminal(await harness.client("alice"), gateway_stack, job_id)
    assert final.job_state.value == "completed"


# ------------------------------------------------------------------ compression


@pytest.mark.parametrize("packing", ["gzip", "deflate"])
async def test_compressed_documents_are_inflated_for_the_device(
    gateway_stack: GatewayStack,
    ipp_as: dict[str, IppClient],
    harness: Harness,
    short_tmp: Path,
    packing: str,
) -> None:
    alice = ipp_as["alice"]
    pdf = make_pdf(short_tmp / "c.pdf", pages=3).read_bytes()
    packed = gzip.compress(pdf) if packing == "gzip" else zlib.compress(pdf)[2:-4]  # raw deflate
    attrs = await alice.get_printer_attributes(["compression-supported"])
    assert attrs.values("compression-supported") == ["none", "deflate", "gzip"]
    req = alice.new_request(Operation.PRINT_JOB)
    req.operation_attributes(document_format="application/pdf", compression=packing)
    response = await alice.request(req, packed)
    assert response.status_code == S.SUCCESSFUL_OK
    job_id = response.first("job-id", group=GroupTag.JOB)
    final = await _until_terminal(await harness.client("alice"), gateway_stack, job_id)
    assert final.job_state.value == "completed"
    printed = [f.read_bytes() for f in gateway_stack.printer.output_files() if f.suffix == ".pdf"]
    assert printed == [pdf]


async def test_data_that_is_not_what_its_compression_says_is_a_client_error(
    ipp_as: dict[str, IppClient], short_tmp: Path
) -> None:
    alice = ipp_as["alice"]
    req = alice.new_request(Operation.PRINT_JOB)
    req.operation_attributes(document_format="application/pdf", compression="gzip")
    response = await alice.request(req, make_pdf(short_tmp / "plain.pdf").read_bytes(), check=False)
    assert response.status_code == S.CLIENT_ERROR_COMPRESSION_ERROR, response.describe()
    req = alice.new_request(Operation.PRINT_JOB)
    req.operation_attributes(document_format="application/pdf", compression="compress")
    response = await alice.request(req, b"%PDF-1.4", check=False)
    assert response.status_code == S.CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED


# ------------------------------------------------------------------ printer description


async def test_printer_attributes_the_offered_operations_require(
    ipp_as: dict[str, IppClient],
) -> None:
    """ippget-event-life (Get-Notifications is offered), job- and
    printer-settable-attributes-supported (Set-Job- and Set-Printer-Attributes are)."""
    attrs = (await _printer(ipp_as["alice"], "all")).group(GroupTag.PRINTER)
    assert attrs is not None
    assert attrs.first("ippget-event-life") >= 15
    assert "copies" in attrs.values("job-settable-attributes-supported")
    assert attrs.values("printer-settable-attributes-supported") == [
        "printer-info",
        "printer-location",
    ]
    ops = set(attrs.values("operations-supported"))
    for op in (
        Operation.GET_NOTIFICATIONS,
        Operation.SET_JOB_ATTRIBUTES,
        Operation.SET_PRINTER_ATTRIBUTES,
        Operation.PAUSE_PRINTER,
        Operation.ENABLE_PRINTER,
        Operation.CANCEL_JOBS,
        Operation.GET_DOCUMENTS,
        Operation.GET_SUBSCRIPTIONS,
        Operation.REPROCESS_JOB,
    ):
        assert op in ops, op
    assert attrs.first("printer-message-from-operator") == ""


async def test_the_multiple_operation_time_out_is_the_queues_own(
    ipp_as: dict[str, IppClient], harness: Harness, gateway_stack: GatewayStack
) -> None:
    """It used to say 300 s and abort-job whatever the queue did (process-job, by
    default)."""
    alice = ipp_as["alice"]
    names = ("multiple-operation-time-out", "multiple-operation-time-out-action")
    attrs = (await _printer(alice, *names)).group(GroupTag.PRINTER)
    assert attrs is not None
    assert (attrs.first(names[0]), attrs.first(names[1])) == (300, "process-job")
    admin = await harness.client("admin")
    config = QueueConfiguration(
        multiple_operation_time_out=120, multiple_operation_time_out_action="abort-job"
    )
    await admin.session.request(
        admin_ops.SetServiceElements(printer_name="office", configuration=config),
        admin_ops.ServiceResponse,
    )
    gateway_stack.app.gateway.forget_queue("office")
    attrs = (await _printer(alice, *names)).group(GroupTag.PRINTER)
    assert attrs is not None
    assert (attrs.first(names[0]), attrs.first(names[1])) == (120, "abort-job")


# ------------------------------------------------------------------ administration


async def test_printer_administration_goes_to_the_service_as_the_user(
    ipp_as: dict[str, IppClient], gateway_stack: GatewayStack
) -> None:
    """Pause-Printer and friends are the seeds' Table 2 operations: the service decides
    who may (operators), and the printer state follows."""
    alice, operator, admin = ipp_as["alice"], ipp_as["operator"], ipp_as["admin"]
    pause = alice.new_request(Operation.PAUSE_PRINTER)
    with pytest.raises(IppError) as refused:
        await alice.request(pause)
    assert refused.value.status_code == S.CLIENT_ERROR_NOT_AUTHORIZED
    pause = operator.new_request(Operation.PAUSE_PRINTER)
    pause.operation_attributes(printer_message_from_operator=IppValue(T.TEXT, "toner change"))
    await operator.request(pause)
    names = ("printer-state", "printer-state-reasons", "printer-message-from-operator")
    attrs = (await _printer(alice, *names)).group(GroupTag.PRINTER)
    assert attrs is not None
    assert attrs.first("printer-state") == 5  # stopped
    assert "paused" in attrs.values("printer-state-reasons")
    assert attrs.first("printer-message-from-operator") == "toner change"
    await operator.request(operator.new_request(Operation.RESUME_PRINTER))
    attrs = (await _printer(alice, "printer-state")).group(GroupTag.PRINTER)
    assert attrs is not None and attrs.first("printer-state") in (3, 4)

    disable = operator.new_request(Operation.DISABLE_PRINTER)
    await operator.request(disable)
    attrs = (await _printer(alice, "printer-is-accepting-jobs")).group(GroupTag.PRINTER)
    assert attrs is not None and attrs.first("printer-is-accepting-jobs") is False
    await operator.request(operator.new_request(Operation.ENABLE_PRINTER))

    info = admin.new_request(Operation.SET_PRINTER_ATTRIBUTES)
    info.printer_attributes(printer_info=IppValue(T.TEXT, "Second floor, by the window"))
    await admin.request(info)
    attrs = (await _printer(alice, "printer-info")).group(GroupTag.PRINTER)
    assert attrs is not None and attrs.first("printer-info") == "Second floor, by the window"
    settable = admin.new_request(Operation.SET_PRINTER_ATTRIBUTES)
    settable.printer_attributes(printer_make_and_model=IppValue(T.TEXT, "Anything"))
    response = await admin.request(settable, check=False)
    assert response.status_code == S.CLIENT_ERROR_ATTRIBUTES_NOT_SETTABLE


async def test_documents_of_a_job(ipp_as: dict[str, IppClient], short_tmp: Path) -> None:
    alice = ipp_as["alice"]
    pdf = make_pdf(short_tmp / "d.pdf").read_bytes()
    job_id = await alice.create_job("two documents")
    await alice.send_document(job_id, pdf, "application/pdf", "first", last_document=False)
    await alice.send_document(job_id, pdf, "application/pdf", "second", last_document=True)
    req = alice.new_request(Operation.GET_DOCUMENTS)
    req.operation_attributes(job_id=job_id, requested_attributes=["all"])
    response = await alice.request(req)
    documents = response.groups_of(GroupTag.DOCUMENT)
    assert [d.first("document-name") for d in documents] == ["first", "second"]
    assert [d.first("document-number") for d in documents] == [1, 2]
    assert all(d.first("document-format") == "application/pdf" for d in documents)
    req = alice.new_request(Operation.GET_DOCUMENT_ATTRIBUTES)
    req.operation_attributes(job_id=job_id, document_number=2)
    response = await alice.request(req)
    assert response.first("document-name", group=GroupTag.DOCUMENT) == "second"
    req = ipp_as["bob"].new_request(Operation.GET_DOCUMENTS)
    req.operation_attributes(job_id=job_id)
    response = await ipp_as["bob"].request(req, check=False)
    assert response.status_code in (S.CLIENT_ERROR_NOT_AUTHORIZED, S.CLIENT_ERROR_NOT_FOUND)


# ------------------------------------------------------------------ printer events


async def test_printer_subscriptions_hear_of_queue_changes_nobody_read(
    service, harness: Harness, short_tmp: Path
) -> None:  # type: ignore[no-untyped-def]
    """An administrator pauses the queue over XMPP (not through the gateway) and jobs
    change state: a printer subscription gets printer-state-changed, printer-stopped
    and the job events, without anyone reading the printer's attributes."""
    await harness.manager(SimDriver())
    config = gateway_config(harness, queue_poll=0.2, notify_wait_max=2.0)
    app = GatewayApp(config, directory=base.directory_for(service))
    await app.start()
    try:
        async for ipp in _clients(app.uri("office"), harness.passwords):
            alice = ipp["alice"]
            req = alice.new_request(Operation.CREATE_PRINTER_SUBSCRIPTIONS)
            sub = req.add_group(GroupTag.SUBSCRIPTION)
            sub.add("notify-pull-method", "ippget")
            sub.add("notify-events", ["printer-state-changed", "printer-stopped", "job-completed"])
            answer = await alice.request(req)
            sid = answer.first("notify-subscription-id", group=GroupTag.SUBSCRIPTION)
            operator = await harness.client("operator")
            await operator.session.request(
                admin_ops.PauseService(printer_name="office", message="paper jam"),
                admin_ops.ServiceResponse,
            )
            events = await _events_until(alice, sid, "printer-stopped")
            stopped = next(e for e in events if e[0] == "printer-stopped")
            assert stopped[1] == 5
            await operator.session.request(
                admin_ops.ResumeService(printer_name="office"), admin_ops.ServiceResponse
            )
            job_id = await alice.print_job(make_pdf(short_tmp / "e.pdf").read_bytes())
            events = await _events_until(alice, sid, "job-completed", after=len(events) + 1)
            assert ("job-completed", 9) in [(e[0], e[2]) for e in events if e[3] == job_id]
            assert any(e[0] == "printer-state-changed" and e[1] in (3, 4) for e in events)
    finally:
        await app.stop()


async def _events_until(
    client: IppClient, sid: int, name: str, *, after: int = 1
) -> list[tuple[str, int | None, int | None, int | None]]:
    """(event, printer-state, job-state, job-id) from sequence ``after`` on, waiting
    (notify-wait) until ``name`` arrives."""
    found: list[tuple[str, int | None, int | None, int | None]] = []
    sequence = after
    for _ in range(20):
        req = client.new_request(Operation.GET_NOTIFICATIONS)
        req.operation_attributes(
            notify_subscription_ids=[sid],
            notify_sequence_numbers=[sequence],
            notify_wait=IppValue(T.BOOLEAN, True),
        )
        response = await client.request(req)
        for group in response.groups_of(GroupTag.EVENT_NOTIFICATION):
            sequence = group.first("notify-sequence-number") + 1
            found.append(
                (
                    group.first("notify-subscribed-event"),
                    group.first("printer-state"),
                    group.first("job-state"),
                    group.first("job-id"),
                )
            )
        if any(e[0] == name for e in found):
            return found
    raise AssertionError(f"no {name} event: {found}")


async def test_identify_printer_reaches_the_device(
    gateway_stack: GatewayStack, ipp_as: dict[str, IppClient]
) -> None:
    """Identify-Printer → IdentifyPrinter → the manager → IPP Identify-Printer on the
    device (docs/gateway.md called it 'not built')."""
    alice = ipp_as["alice"]
    attrs = await alice.get_printer_attributes(["operations-supported"])
    assert Operation.IDENTIFY_PRINTER in attrs.values("operations-supported")
    req = alice.new_request(Operation.IDENTIFY_PRINTER)
    req.operation_attributes(identify_actions=["sound"], message=IppValue(T.TEXT, "over here"))
    await alice.request(req)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while "Identify-Printer" not in gateway_stack.printer.log_tail(200):
        assert loop.time() < deadline, gateway_stack.printer.log_tail()
        await asyncio.sleep(0.1)  # ippeveprinter says so only in its log


async def test_values_the_services_protocol_cannot_carry_are_client_errors(
    gateway_stack: GatewayStack, ipp_as: dict[str, IppClient], short_tmp: Path
) -> None:
    """A job-name with a control character (XML cannot carry it) and a queue name the
    protocol does not allow used to be server-error-internal-error."""
    alice = ipp_as["alice"]
    req = alice.new_request(Operation.PRINT_JOB)
    req.operation_attributes(
        job_name=IppValue(T.NAME, "report\x01final"), document_format="application/pdf"
    )
    response = await alice.request(req, make_pdf(short_tmp / "v.pdf").read_bytes(), check=False)
    assert response.status_code == S.CLIENT_ERROR_BAD_REQUEST, response.describe()
    odd = IppClient(
        gateway_stack.uri(None).replace("/office", "/off%20ice"), session=alice._session
    )
    response = await odd.request(odd.new_request(Operation.GET_PRINTER_ATTRIBUTES), check=False)
    assert response.status_code == S.CLIENT_ERROR_NOT_FOUND, response.describe()
