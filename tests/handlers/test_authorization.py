"""The authorization matrix, from the roles the operations are registered with: every
operation refuses everyone its role does not admit (client-error-not-authorized, one
answer, nothing else sent, nothing changed); a client may not act on another user's job,
a device not on a job of another queue, and only an administrator restarts the System
Control Service."""

from __future__ import annotations

import pytest

from server.handlers import OPERATIONS
from server.handlers.roles import DEVICE as DEVICE_ROLE
from server.handlers.roles import ROLES
from stanzas import admin_ops as a
from stanzas.errors import NotAuthorized
from tests.handlers.conftest import World
from tests.handlers.matrix import ADMIN_ONLY, ADMITTED, EVERYONE, expected_role
from tests.handlers.stream import ADMIN, BOB, MGR1, OPERATOR
from tests.unit.test_stanzas import MINIMAL

ON_WORLD = pytest.mark.asyncio(loop_scope="module")  # the module's one service

NAMES = sorted(OPERATIONS)
CLIENT_ON_A_JOB = sorted(
    name
    for name, op in OPERATIONS.items()
    if op.role.name == "client" and {"job_id", "job_ids"} & set(op.request.model_fields)
)
DEVICE_ON_A_JOB = sorted(
    name
    for name, op in OPERATIONS.items()
    if op.role is DEVICE_ROLE
    and "job_id" in op.request.model_fields
    and name != "PutJobDocumentData"  # not offered for Print: refused before any job is read
)


def test_the_matrix_knows_every_role_and_every_operation_has_one() -> None:
    assert {role.name for role in ROLES} == set(ADMITTED)
    assert ADMIN_ONLY <= set(OPERATIONS)
    assert len(CLIENT_ON_A_JOB) >= 15 and len(DEVICE_ON_A_JOB) >= 6


@pytest.mark.parametrize("name", NAMES)
def test_each_operation_is_registered_with_the_role_the_seeds_give_it(name: str) -> None:
    operation = OPERATIONS[name]
    assert operation.role.name == expected_role(operation.request)


@ON_WORLD
@pytest.mark.parametrize("name", NAMES)
async def test_an_operation_refuses_whoever_its_role_does_not_admit(
    world: World, name: str
) -> None:
    role = OPERATIONS[name].role.name
    before = await world.stream.snapshot()
    refused = [who for who in EVERYONE if who not in ADMITTED[role]]
    for sender in refused:
        error = await world.stream.refused(sender, MINIMAL[name])
        assert error.status == NotAuthorized.status, (sender, error)
    assert await world.stream.snapshot() == before


@ON_WORLD
@pytest.mark.parametrize("name", CLIENT_ON_A_JOB)
async def test_a_client_may_not_act_on_another_users_job(world: World, name: str) -> None:
    fields = OPERATIONS[name].request.model_fields
    key = "job_id" if "job_id" in fields else "job_ids"
    job = world.office_job
    request = MINIMAL[name].model_copy(update={key: job if key == "job_id" else [job]})
    before = await world.stream.snapshot()
    error = await world.stream.refused(BOB, request)
    assert error.status == NotAuthorized.status, error
    assert await world.stream.snapshot() == before


@ON_WORLD
@pytest.mark.parametrize("name", DEVICE_ON_A_JOB)
async def test_a_device_may_not_touch_a_job_of_another_queue(world: World, name: str) -> None:
    request = MINIMAL[name].model_copy(update={"job_id": world.annex_job})
    before = await world.stream.snapshot()
    error = await world.stream.refused(MGR1, request)
    assert error.status == NotAuthorized.status, error
    assert await world.stream.snapshot() == before


@ON_WORLD
async def test_only_an_administrator_restarts_the_system_control_service(world: World) -> None:
    system = a.RestartService(service_type=a.AnyServiceType.SYSTEM)
    error = await world.stream.refused(OPERATOR, system)
    assert error.status == NotAuthorized.status
    answer, pushes = await world.stream.iq(ADMIN, system)
    assert answer.get("type") == "result"
    assert sorted(p.get("to") for p in pushes) == ["mgr1@localhost", "mgr2@localhost"]  # resync
