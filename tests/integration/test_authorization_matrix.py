"""Every operation by each of {owner, another user, operator, administrator, the queue's device,
another device}: allowed callers are not refused; everyone else gets
client-error-not-authorized and nothing changes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from manager.drivers.sim import SimDriver
from server.app import ServiceApp
from stanzas import client_ops as c
from stanzas import device_ops as d
from stanzas.errors import CloudImagingError, NotAuthorized
from stanzas.groups import JobTicket
from stanzas.model import Payload
from stanzas.registry import PAYLOADS
from stanzas.session import ServiceSession
from stanzas.states import DocumentState, JobState
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE
from tests.integration.test_security import raw_session

ROLES = ("owner", "other-user", "operator", "admin", "device", "other-device")
ACCOUNTS = {
    "owner": "alice",
    "other-user": "bob",
    "operator": "operator",
    "admin": "admin",
    "device": "mgr1",
    "other-device": "mgr2",
}
USERS = {"owner", "other-user", "operator", "admin"}
OWNER_OPERATOR_ADMIN = {"owner", "operator", "admin"}
OWNER_ADMIN = {"owner", "admin"}


@dataclass(frozen=True)
class Target:
    job_id: int
    device: str  # the office queue's output-device-uuid
    other_device: str


@dataclass(frozen=True)
class Case:
    build: Callable[[Target], Payload]
    allowed: set[str]


CASES: dict[str, Case] = {
    # client operations (seed 001, Table 1)
    "CreateJob": Case(lambda t: c.CreateJob(printer_name="office"), USERS),
    "PrintJob": Case(
        lambda t: c.PrintJob(printer_name="office", document_data=b"%PDF-1.4 matrix"), USERS
    ),
    "SendDocument": Case(lambda t: c.SendDocument(job_id=t.job_id), OWNER_OPERATOR_ADMIN),
    "SendUri": Case(
        lambda t: c.SendUri(job_id=t.job_id, document_uri="https://docs.example/a.pdf"),
        OWNER_OPERATOR_ADMIN,
    ),
    "AddHardcopyDocument": Case(
        lambda t: c.AddHardcopyDocument(job_id=t.job_id), OWNER_OPERATOR_ADMIN
    ),
    "CloseJob": Case(lambda t: c.CloseJob(job_id=t.job_id), OWNER_ADMIN),
    "GetJobElements": Case(lambda t: c.GetJobElements(job_id=t.job_id), OWNER_OPERATOR_ADMIN),
    "GetActiveJobs": Case(lambda t: c.GetActiveJobs(printer_name="office"), USERS),
    "GetJobHistory": Case(lambda t: c.GetJobHistory(printer_name="office"), USERS),
    "GetDocuments": Case(lambda t: c.GetDocuments(job_id=t.job_id), OWNER_OPERATOR_ADMIN),
    # A document's bytes: the owner and administrators, not operators (they manage jobs).
    "GetDocumentData": Case(
        lambda t: c.GetDocumentData(job_id=t.job_id, document_number=1), OWNER_ADMIN
    ),
    "GetDocumentElements": Case(
        lambda t: c.GetDocumentElements(job_id=t.job_id, document_number=1), OWNER_OPERATOR_ADMIN
    ),
    "GetServiceElements": Case(lambda t: c.GetServiceElements(printer_name="office"), USERS),
    "GetServices": Case(lambda t: c.GetServices(), USERS),
    "CancelJob": Case(lambda t: c.CancelJob(job_id=t.job_id), OWNER_OPERATOR_ADMIN),
    "CancelCurrentJob": Case(
        lambda t: c.CancelCurrentJob(printer_name="office", job_id=t.job_id), OWNER_OPERATOR_ADMIN
    ),
    "CancelMyJobs": Case(lambda t: c.CancelMyJobs(job_ids=[t.job_id]), {"owner"}),
    "CancelDocument": Case(
        lambda t: c.CancelDocument(job_id=t.job_id, document_number=1), OWNER_OPERATOR_ADMIN
    ),
    "SetJobElements": Case(
        lambda t: c.SetJobElements(job_id=t.job_id, job_ticket=JobTicket(copies=2)), OWNER_ADMIN
    ),
    "SetDocumentElements": Case(
        lambda t: c.SetDocumentElements(job_id=t.job_id, document_number=1, document_name="x"),
        OWNER_ADMIN,
    ),
    "SuspendCurrentJob": Case(
        lambda t: c.SuspendCurrentJob(printer_name="office", job_id=t.job_id), OWNER_ADMIN
    ),
    "ResumeJob": Case(lambda t: c.ResumeJob(job_id=t.job_id), OWNER_OPERATOR_ADMIN),
    "ResubmitJob": Case(lambda t: c.ResubmitJob(job_id=t.job_id), OWNER_OPERATOR_ADMIN),
    # Release at the device: the owner's own jobs (an administrator: anyone's).
    "ReleaseJobs": Case(
        lambda t: c.ReleaseJobs(output_device="office", job_ids=[t.job_id]), OWNER_ADMIN
    ),
    "ValidateJobTicket": Case(
        lambda t: c.ValidateJobTicket(printer_name="office", job_ticket=JobTicket()), USERS
    ),
    "ValidateDocumentTicket": Case(
        lambda t: c.ValidateDocumentTicket(printer_name="office", document_ticket=JobTicket()),
        USERS,
    ),
    "IdentifyPrinter": Case(lambda t: c.IdentifyPrinter(printer_name="office"), USERS),
    # device operations (seed 001, Device Manager to Service)
    "GetFetchableJobs": Case(lambda t: d.GetFetchableJobs(output_device_uuid=t.device), {"device"}),
    "FetchJob": Case(
        lambda t: d.FetchJob(output_device_uuid=t.device, job_id=t.job_id), {"device"}
    ),
    "AcknowledgeJob": Case(
        lambda t: d.AcknowledgeJob(
            output_device_uuid=t.device, job_id=t.job_id, output_device_job_id=7
        ),
        {"device"},
    ),
    "FetchDocument": Case(
        lambda t: d.FetchDocument(output_device_uuid=t.device, job_id=t.job_id, document_number=1),
        {"device"},
    ),
    "AcknowledgeDocument": Case(
        lambda t: d.AcknowledgeDocument(
            output_device_uuid=t.device, job_id=t.job_id, document_number=1
        ),
        {"device"},
    ),
    "UpdateJobState": Case(
        lambda t: d.UpdateJobState(
            output_device_uuid=t.device, job_id=t.job_id, job_state=JobState.PROCESSING
        ),
        {"device"},
    ),
    "UpdateDocumentState": Case(
        lambda t: d.UpdateDocumentState(
            output_device_uuid=t.device,
            job_id=t.job_id,
            document_number=1,
            document_state=DocumentState.PROCESSING,
        ),
        {"device"},
    ),
    "UpdateServiceState": Case(
        lambda t: d.UpdateServiceState(output_device_uuid=t.device), {"device"}
    ),
    "UpdateFetchableJobs": Case(
        lambda t: d.UpdateFetchableJobs(output_device_uuid=t.device), {"device"}
    ),
    "PutJobDocumentData": Case(
        lambda t: d.PutJobDocumentData(
            output_device_uuid=t.device, job_id=t.job_id, document_format="application/pdf"
        ),
        {"device"},
    ),
    # The other device names its own uuid but the office queue's job.
    "FetchJob (own uuid)": Case(
        lambda t: d.FetchJob(output_device_uuid=t.other_device, job_id=t.job_id), {"other-device"}
    ),
}
REFUSE_ONLY = {"FetchJob (own uuid)"}  # the other device may use its uuid, never this job


def response_type(request: Payload) -> type[Payload]:
    for name in (
        request.ELEMENT + "Response",
        "JobListResponse",
        "JobResponse",
        "JobsResponse",
        "DocumentResponse",
        "ValidateResponse",
    ):
        if name in PAYLOADS and _answers(request.ELEMENT, name):
            return PAYLOADS[name]
    raise KeyError(request.ELEMENT)


def _answers(request: str, response: str) -> bool:
    if response == request + "Response":
        return True
    shared = {
        "JobListResponse": ("GetActiveJobs", "GetJobHistory"),
        "JobResponse": ("SetJobElements", "ResumeJob", "ResubmitJob"),
        "JobsResponse": ("CancelCurrentJob", "SuspendCurrentJob"),
        "DocumentResponse": ("CancelDocument", "SetDocumentElements"),
        "ValidateResponse": ("ValidateJobTicket", "ValidateDocumentTicket"),
    }
    return request in shared.get(response, ())


async def snapshot(service: ServiceApp) -> list[Any]:
    rows = await service.service.db.fetchall("SELECT * FROM jobs ORDER BY job_id")
    docs = await service.service.db.fetchall(
        "SELECT * FROM documents ORDER BY job_id, document_number"
    )
    queues = await service.service.db.fetchall("SELECT * FROM queues ORDER BY printer_name")
    return [tuple(r) for r in rows] + [tuple(r) for r in docs] + [tuple(r) for r in queues]


async def test_authorization_matrix(service: ServiceApp, harness: Harness) -> None:
    # Register both devices, then take them offline so that nothing moves on its own.
    for account, queue in (("mgr1", "office"), ("mgr2", "elsewhere")):
        manager = await harness.manager(SimDriver(), account=account, queue=queue)
        await manager.stop()
    devices = {
        dev.printer_name: dev.output_device_uuid for dev in await service.service.devices.list_all()
    }
    sessions: dict[str, ServiceSession] = {
        role: await raw_session(harness, account) for role, account in ACCOUNTS.items()
    }
    alice = await harness.client("alice")

    leaks: list[str] = []
    wrongly_refused: list[str] = []
    for name, case in CASES.items():
        for role in ROLES:
            job = await alice.create_job("office", job_name=f"{name} by {role}")
            await alice.send_document(job.job_id, SAMPLE)
            target = Target(job.job_id, devices["office"], devices["elsewhere"])
            request = case.build(target)
            before = await snapshot(service)
            try:
                await sessions[role].request(request, response_type(request))
                outcome = "ok"
            except NotAuthorized:
                outcome = "refused"
            except CloudImagingError as exc:
                outcome = exc.status
            allowed = role in case.allowed and name not in REFUSE_ONLY
            if allowed and outcome == "refused":
                wrongly_refused.append(f"{name} by {role}")
            if not allowed:
                if outcome != "refused":
                    leaks.append(f"{name} by {role}: {outcome}")
                elif await snapshot(service) != before:
                    leaks.append(f"{name} by {role}: refused but changed something")
    assert leaks == [], leaks
    assert wrongly_refused == [], wrongly_refused


def test_every_operation_is_in_the_matrix() -> None:
    requests = {
        name
        for name, cls in PAYLOADS.items()
        if cls.__module__ in ("stanzas.client_ops", "stanzas.device_ops")
        and not name.endswith("Response")
        and name
        not in (
            "JobListResponse",
            "JobEvent",
            "WorkNotification",
            "RegisterDevice",
            "DeregisterDevice",
        )
    }
    assert requests <= set(CASES), sorted(requests - set(CASES))


@pytest.mark.parametrize("name", sorted(CASES))
def test_cases_build(name: str) -> None:
    request = CASES[name].build(
        Target(
            1,
            "urn:uuid:00000000-0000-4000-8000-000000000001",
            "urn:uuid:00000000-0000-4000-8000-000000000002",
        )
    )
    assert response_type(request) is not None
