"""Fan-in: one device serving two queues, each with its own default ticket, policies and
permissions. The role matrix extended to queue permissions (every client operation that
names a restricted queue refuses whoever may not print to it, and changes nothing; such
a user does not see the queue or its jobs), and each policy refused with its IPP status."""

from __future__ import annotations

import pytest

from server.handlers import OPERATIONS
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.errors import (
    AttributesNotSupported,
    DocumentFormatNotSupported,
    NotAuthorized,
    RequestEntityTooLarge,
)
from stanzas.groups import Capabilities, JobTicket, QueueConfiguration
from stanzas.transport import error_from_xml
from tests.handlers.conftest import DEVICE, enrollment_code
from tests.handlers.stream import ADMIN, ALICE, BOB, MGR1, OPERATOR, Stream
from tests.unit.test_stanzas import MINIMAL

PDF = b"%PDF-1.4 fan-in"
CLIENT_ON_A_QUEUE = sorted(
    name
    for name, op in OPERATIONS.items()
    if op.role.name == "client" and "printer_name" in op.request.model_fields
)


async def one_device_two_queues(stream: Stream) -> None:
    """mgr1's device serves `office` (open to all) and `exec` (finance only, no colour,
    at most 2 copies, PDF only, small documents; duplex by default)."""
    caps = Capabilities(
        print_color_mode_supported=["monochrome", "color"],
        sides_supported=["one-sided", "two-sided-long-edge"],
        document_format_supported=["application/pdf", "image/jpeg"],
        copies_supported=99,
    )
    for queue in ("office", "exec"):
        code = await enrollment_code(stream, queue)
        answer, _ = await stream.iq(
            MGR1,
            d.RegisterDevice(
                output_device_uuid=DEVICE,
                printer_name=queue,
                capabilities=caps,
                enrollment_code=code,
            ),
        )
        assert answer.get("type") == "result"
    await stream.iq(ADMIN, a.AddGroupMembers(group_name="finance", members=["alice@localhost"]))
    answer, _ = await stream.iq(
        ADMIN,
        a.SetServiceElements(
            printer_name="exec",
            configuration=QueueConfiguration(
                color_prohibited=True,
                max_copies=2,
                max_document_size=1000,
                document_formats_allowed=["application/pdf"],
                allowed_groups=["finance"],
            ),
            default_job_ticket=JobTicket(sides="two-sided-long-edge"),
        ),
    )
    assert answer.get("type") == "result"


async def printed(stream: Stream, sender: str, queue: str, **fields: object) -> c.PrintJobResponse:
    values: dict[str, object] = {
        "printer_name": queue,
        "document_data": PDF,
        "document_format": "application/pdf",
        **fields,
    }
    answer, _ = await stream.iq(sender, c.PrintJob(**values))  # type: ignore[arg-type]
    assert answer.get("type") == "result", answer
    return c.PrintJobResponse.from_xml(answer[0])


@pytest.mark.parametrize("name", CLIENT_ON_A_QUEUE)
async def test_every_client_operation_on_a_restricted_queue_refuses_the_others(
    stream: Stream, name: str
) -> None:
    await one_device_two_queues(stream)
    job = (await printed(stream, ALICE, "exec")).job.job_id
    request = MINIMAL[name].model_copy(update={"printer_name": "exec"})
    fields = type(request).model_fields
    if "job_id" in fields and fields["job_id"].is_required():
        request = request.model_copy(update={"job_id": job})
    before = await stream.snapshot()
    refused = await stream.refused(BOB, request)
    assert refused.status == NotAuthorized.status, refused
    assert await stream.snapshot() == before
    # Those it is open to get past the permission (whatever else they are told).
    for allowed in (ALICE, OPERATOR):
        answer, _ = await stream.iq(allowed, request)
        if answer.get("type") == "error":
            assert "may not print to queue" not in error_from_xml(answer).message, name


async def test_a_user_sees_only_the_queues_open_to_him_and_their_jobs(stream: Stream) -> None:
    await one_device_two_queues(stream)
    await printed(stream, ALICE, "exec")
    await printed(stream, ALICE, "office")

    async def seen(sender: str) -> tuple[list[str], list[str]]:
        answer, _ = await stream.iq(sender, c.GetServices(), "get")
        queues = c.GetServicesResponse.from_xml(answer[0]).service
        answer, _ = await stream.iq(sender, c.GetActiveJobs(), "get")
        jobs = c.JobList.from_xml(answer[0]).job
        return (
            sorted(q.description.printer_name for q in queues if q.description),
            sorted(j.printer_name or "" for j in jobs),
        )

    assert await seen(BOB) == (["office"], ["office"])
    assert await seen(ALICE) == (["exec", "office"], ["exec", "office"])
    assert await seen(OPERATOR) == (["exec", "office"], ["exec", "office"])
    # Only operators and administrators are shown who may print to a queue.
    answer, _ = await stream.iq(ALICE, c.GetServiceElements(printer_name="exec"), "get")
    shown = c.GetServiceElementsResponse.from_xml(answer[0]).service
    assert shown.configuration is not None and shown.configuration.allowed_groups is None
    answer, _ = await stream.iq(OPERATOR, c.GetServiceElements(printer_name="exec"), "get")
    shown = c.GetServiceElementsResponse.from_xml(answer[0]).service
    assert shown.configuration is not None and shown.configuration.allowed_groups == ["finance"]
    # Leaving the group closes the queue to her.
    await stream.iq(ADMIN, a.RemoveGroupMembers(group_name="finance"))
    assert (await seen(ALICE))[0] == ["office"]


async def test_each_policy_refuses_with_its_ipp_status(stream: Stream) -> None:
    await one_device_two_queues(stream)
    cases = [
        ({"job_ticket": JobTicket(print_color_mode="color")}, AttributesNotSupported),
        ({"job_ticket": JobTicket(copies=3)}, AttributesNotSupported),
        ({"document_data": b"%PDF" + b"x" * 2000}, RequestEntityTooLarge),
        ({"document_format": "image/jpeg"}, DocumentFormatNotSupported),
    ]
    for fields, error in cases:
        values: dict[str, object] = {
            "printer_name": "exec",
            "document_data": PDF,
            "document_format": "application/pdf",
            **fields,
        }
        before = await stream.snapshot()
        refused = await stream.refused(ALICE, c.PrintJob(**values))  # type: ignore[arg-type]
        assert refused.status == error.status, (fields, refused)
        assert await stream.snapshot() == before
        # The same job is fine on the queue without those policies, on the same device.
        await printed(stream, ALICE, "office", **fields)
    refused = await stream.refused(
        ALICE, c.ValidateJobTicket(printer_name="exec", job_ticket=JobTicket(copies=5))
    )
    assert refused.status == AttributesNotSupported.status


async def test_one_device_two_queues_two_defaults_and_what_the_queue_offers(
    stream: Stream,
) -> None:
    await one_device_two_queues(stream)
    on_exec = (await printed(stream, ALICE, "exec")).job.job_id
    on_office = (await printed(stream, ALICE, "office")).job.job_id
    tickets = {}
    for job_id in (on_exec, on_office):
        answer, _ = await stream.iq(MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
        tickets[job_id] = d.FetchJobResponse.from_xml(answer[0]).job_ticket
    # exec's default ticket and its no-colour policy; office's neither.
    assert tickets[on_exec].sides == "two-sided-long-edge"
    assert tickets[on_exec].print_color_mode == "monochrome"
    assert tickets[on_office].sides is None and tickets[on_office].print_color_mode is None
    answer, _ = await stream.iq(
        ALICE, c.GetServiceElements(printer_name="exec", requested_elements=["capabilities"]), "get"
    )
    caps = c.GetServiceElementsResponse.from_xml(answer[0]).service.capabilities
    assert caps is not None
    assert caps.print_color_mode_supported == ["monochrome"]
    assert caps.document_format_supported == ["application/pdf"]
    assert caps.copies_supported == 2


async def test_group_quotas_and_usage_by_group_count_the_services_own_groups(
    stream: Stream,
) -> None:
    """Accounting's groups are the ones AddGroupMembers manages (not an empty stand-in)."""
    await stream.iq(ADMIN, a.AddGroupMembers(group_name="finance", members=["alice@localhost"]))
    assert stream.ctx.quotas.groups is stream.ctx.groups
    assert set(await stream.ctx.quotas.groups.groups_of("alice@localhost")) == {"finance"}
    assert await stream.ctx.groups.all_groups() == {"finance": ["alice@localhost"]}
