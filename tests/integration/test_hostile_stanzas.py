"""200 malformed or hostile stanzas: each gets a stanza error, the service keeps serving.
Deep stanzas in any namespace, to the service, a manager or a client: refused, and the
receiver's connection stays up."""

from __future__ import annotations

import logging
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from pydantic import ValidationError
from slixmpp.exceptions import IqError

from cirrus.stack.local import SERVICE_JID
from manager.drivers.sim import SimDriver
from stanzas.namespace import NS, qname
from stanzas.registry import PAYLOADS
from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE, WAIT
from tests.integration.test_security import raw_session
from tests.raw_peer import RawPeer, condition, nested

U = "urn:uuid:00000000-0000-4000-8000-000000000000"


def el(name: str, *children: tuple[str, str], ns: str = NS) -> ET.Element:
    element = ET.Element(f"{{{ns}}}{name}")
    for child, text in children:
        ET.SubElement(element, f"{{{ns}}}{child}").text = text
    return element


def _valid_when_empty(name: str) -> bool:
    if name.endswith("Response") or name in ("WorkNotification", "JobEvent"):
        return False
    try:
        PAYLOADS[name].model_validate({})
    except ValidationError:
        return False
    return True


def hostile_payloads(device: str, job_id: int) -> list[tuple[str, ET.Element]]:
    cases: list[tuple[str, ET.Element]] = []
    # Every request and response element, empty: required elements are missing.
    for name in sorted(PAYLOADS):
        if not _valid_when_empty(name):  # GetActiveJobs with no element is a fine request
            cases.append((f"empty {name}", el(name)))
    # Every request with an unknown child, a repeated child, a child in a foreign
    # namespace, and as a whole in a foreign namespace.
    requests = sorted(
        n
        for n in PAYLOADS
        if not n.endswith("Response") and n not in ("WorkNotification", "JobEvent")
    )
    for name in requests:
        cases.append((f"{name} with an unknown child", el(name, ("job-id", "1"), ("evil", "1"))))
        cases.append((f"{name} with a repeated child", el(name, ("job-id", "1"), ("job-id", "1"))))
        foreign = el(name, ("job-id", "1"))
        ET.SubElement(foreign, "{urn:evil:1}job-id").text = "1"
        cases.append((f"{name} with a foreign child", foreign))
        cases.append((f"{name} in a foreign namespace", el(name, ("job-id", "1"), ns="urn:evil:2")))
    # Queue names that could reach paths, SQL or other queues.
    for bad in ["", "../etc/passwd", "a b", "office;", "-office", "x" * 200, "office\n", "Ωffice"]:
        register = el(
            "RegisterDevice", ("output-device-uuid", str(uuid.uuid4().urn)), ("printer-name", bad)
        )
        cases.append((f"RegisterDevice printer-name {bad[:20]!r}", register))
    # Wrong namespaces.
    for name in ("FetchJob", "CreateJob", "UpdateJobState", "RegisterDevice"):
        cases.append((f"{name} in a foreign namespace", el(name, ("job-id", "1"), ns="urn:evil:1")))
        cases.append(
            (
                f"{name} in an older namespace",
                el(name, ("job-id", "1"), ns="urn:cirrus:cloud-imaging:0"),
            )
        )
    # Unknown operations in our namespace.
    for name in ("DeleteEverything", "FetchJobs", "fetchjob", "Shutdown", "GetAllDocuments"):
        cases.append((f"unknown {name}", el(name)))
    # Bad values.
    bad_ids = ["abc", "-1", "0", "99999999999999", "1.5", "", " ", "0x10", "1e3", "\uff11"]
    for bad in bad_ids:
        cases.append(
            (
                f"FetchJob job-id {bad!r}",
                el("FetchJob", ("output-device-uuid", device), ("job-id", bad)),
            )
        )
        cases.append((f"GetJobElements job-id {bad!r}", el("GetJobElements", ("job-id", bad))))
        cases.append((f"CancelJob job-id {bad!r}", el("CancelJob", ("job-id", bad))))
    bad_uuids = [
        "",
        "uuid",
        "urn:uuid:",
        "urn:uuid:zzzzzzzz-0000-4000-8000-000000000000",
        device + "x",
        "'; DROP TABLE jobs; --",
    ]
    for bad in bad_uuids:
        cases.append(
            (f"GetFetchableJobs uuid {bad!r}", el("GetFetchableJobs", ("output-device-uuid", bad)))
        )
    # Huge values.
    huge = "x" * 100_000
    cases += [
        ("huge job-name", el("CreateJob", ("printer-name", "office"), ("job-name", huge))),
        ("huge printer-name", el("CreateJob", ("printer-name", huge))),
        ("huge message", el("CancelJob", ("job-id", "1"), ("message", huge))),
        (
            "huge keyword list",
            el(
                "UpdateJobState",
                ("output-device-uuid", device),
                ("job-id", str(job_id)),
                ("job-state", "processing"),
                ("job-state-reasons", " ".join(["none"] * 5000)),
            ),
        ),
        (
            "huge state message",
            el(
                "UpdateJobState",
                ("output-device-uuid", device),
                ("job-id", str(job_id)),
                ("job-state", "processing"),
                ("job-state-message", huge),
            ),
        ),
    ]
    # Unknown job ids and documents.
    for unknown in (job_id + 1000, 2**31 - 1, 424242):
        cases.append(
            (f"GetJobElements unknown {unknown}", el("GetJobElements", ("job-id", str(unknown))))
        )
        cases.append((f"CancelJob unknown {unknown}", el("CancelJob", ("job-id", str(unknown)))))
        cases.append(
            (f"SendDocument unknown {unknown}", el("SendDocument", ("job-id", str(unknown))))
        )
        cases.append(
            (
                f"FetchJob unknown {unknown}",
                el("FetchJob", ("output-device-uuid", device), ("job-id", str(unknown))),
            )
        )
        cases.append(
            (
                f"FetchDocument unknown {unknown}",
                el(
                    "FetchDocument",
                    ("output-device-uuid", device),
                    ("job-id", str(unknown)),
                    ("document-number", "1"),
                ),
            )
        )
    # Wrong sender: a user account speaking for the registered device.
    for name, children in [
        ("GetFetchableJobs", []),
        ("FetchJob", [("job-id", str(job_id))]),
        ("AcknowledgeJob", [("job-id", str(job_id))]),
        ("FetchDocument", [("job-id", str(job_id)), ("document-number", "1")]),
        ("AcknowledgeDocument", [("job-id", str(job_id)), ("document-number", "1")]),
        ("UpdateJobState", [("job-id", str(job_id)), ("job-state", "completed")]),
        (
            "UpdateDocumentState",
            [("job-id", str(job_id)), ("document-number", "1"), ("document-state", "completed")],
        ),
        ("UpdateServiceState", []),
        ("UpdateFetchableJobs", []),
        ("DeregisterDevice", []),
        ("PutJobDocumentData", [("job-id", str(job_id)), ("document-format", "application/pdf")]),
    ]:
        cases.append(
            (f"{name} as the wrong sender", el(name, ("output-device-uuid", device), *children))
        )
        cases.append(
            (
                f"{name} for an unknown device",
                el(name, ("output-device-uuid", str(uuid.UUID(int=7).urn)), *children),
            )
        )
    # Structure abuse.
    nested = el("GetJobElements")
    ET.SubElement(ET.SubElement(nested, qname("job-id")), qname("job-id")).text = "1"
    cases.append(("element where text belongs", nested))
    twice = el("GetJobElements", ("job-id", "1"), ("job-id", "2"))
    cases.append(("scalar twice", twice))
    deep = el("CreateJob", ("printer-name", "office"))
    node = ET.SubElement(deep, qname("job-ticket"))
    for _ in range(50):
        node = ET.SubElement(node, qname("job-ticket"))
    cases.append(("deep nesting", deep))
    cases.append(
        (
            "bad state",
            el(
                "UpdateJobState",
                ("output-device-uuid", device),
                ("job-id", str(job_id)),
                ("job-state", "exploded"),
            ),
        )
    )
    cases.append(
        ("bad boolean", el("SendDocument", ("job-id", str(job_id)), ("last-document", "maybe")))
    )
    cases.append(
        (
            "bad format",
            el("SendDocument", ("job-id", str(job_id)), ("document-format", "not a mime type")),
        )
    )
    cases.append(
        ("bad digest", el("SendDocument", ("job-id", str(job_id)), ("document-digest", "abc")))
    )
    cases.append(("no such queue", el("CreateJob", ("printer-name", "no-such-queue"))))
    cases.append(("unknown child", el("GetJobElements", ("job-id", "1"), ("evil", "1"))))
    return cases


async def test_two_hundred_hostile_stanzas_each_get_an_error(service, harness: Harness) -> None:
    await harness.manager(SimDriver())
    device = (await service.service.devices.list_all())[0].output_device_uuid
    alice = await harness.client("alice")
    victim = await alice.print_files("office", [SAMPLE])
    await alice.wait_for_final(victim.job_id, timeout=WAIT)
    mallory = await raw_session(harness, "bob")

    cases = hostile_payloads(device, victim.job_id)
    assert len(cases) >= 200, len(cases)
    unanswered = []
    for label, payload in cases:
        iq = mallory.make_iq(ito=mallory.service_jid, itype="set")
        iq.xml.append(payload)
        try:
            await iq.send(timeout=10)
        except IqError as exc:
            assert exc.iq["error"]["condition"], label
            continue
        unanswered.append(label)
    assert unanswered == [], f"accepted instead of refused: {unanswered}"

    # The service kept serving, and no job changed under the attack.
    after = await alice.get_job(victim.job_id)
    assert after.job_state == JobState.COMPLETED
    again = await alice.print_files("office", [SAMPLE])
    assert (await alice.wait_for_final(again.job_id, timeout=WAIT)).job_state == JobState.COMPLETED


# --- deep and oversized stanzas (stanzas/guard.py) -------------------------------------
# slixmpp copies unhandled stanzas recursively: ~600 levels in any namespace it handles
# itself raised RecursionError inside data_received and cut the receiver's connection.
DEEP = 700
DEEP_PAYLOADS = {
    "an unknown namespace": nested(DEEP, "urn:evil:1"),
    "XEP-0050 command": (
        "<command xmlns='http://jabber.org/protocol/commands' node='list' action='execute'>"
        + nested(DEEP, "jabber:x:data", "x")
        + "</command>"
    ),
    "XEP-0199 ping": "<ping xmlns='urn:xmpp:ping'>" + nested(DEEP, "urn:xmpp:ping") + "</ping>",
    "disco#info": nested(DEEP, "http://jabber.org/protocol/disco#info", "query"),
    "our namespace": nested(DEEP, NS, "GetJobElements"),
}


def _drops(stream: Any) -> list[object]:
    seen: list[object] = []
    stream.add_event_handler("disconnected", seen.append)
    return seen


async def _attack(attacker: RawPeer, target: str) -> None:
    """Deep IQs get and set in every namespace are answered bad-request; deep
    messages, presences and IQ results are dropped."""
    for label, payload in DEEP_PAYLOADS.items():
        for kind in ("get", "set"):
            answer = await attacker.iq(target, payload, kind=kind)
            assert answer.get("type") == "error", (label, kind)
            assert condition(answer) == "bad-request", (label, kind)
    deep = nested(DEEP, "urn:evil:1")
    for stanza in (
        f"<message to='{target}' type='chat'><body>hi</body>{deep}</message>",
        f"<message to='{target}' type='headline'>{nested(DEEP, NS, 'JobEvent')}</message>",
        f"<presence to='{target}'>{deep}</presence>",
        f"<iq type='result' id='nobody-asked' to='{target}'>{deep}</iq>",
        f"<iq type='error' id='nobody-asked-2' to='{target}'>{deep}</iq>",
    ):
        attacker.send(stanza)
    # The stream is in order: once this is answered, everything before it was handled.
    assert condition(await attacker.iq(target, nested(DEEP, "urn:evil:2"))) == "bad-request"


async def test_deep_stanzas_to_the_service_are_refused_and_it_stays_connected(
    service, harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.manager(SimDriver())
    alice = await harness.client("alice")
    drops = _drops(service.component)
    attacker = RawPeer(await raw_session(harness, "bob"))
    caplog.set_level(logging.WARNING, logger="stanzas.guard")

    await _attack(attacker, SERVICE_JID)

    assert drops == []
    assert service.component.online.is_set()
    refusals = [r for r in caplog.records if r.name == "stanzas.guard" and "bob@" in r.message]
    assert len(refusals) == 2 * len(DEEP_PAYLOADS) + 5 + 1  # one line each, no more
    assert all(len(r.getMessage()) < 500 and r.exc_info is None for r in refusals)
    # Still serving, on the same connection.
    job = await alice.print_files("office", [SAMPLE])
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED
    assert drops == []


async def test_deep_stanzas_to_a_manager_and_a_client_are_refused_and_both_stay_online(
    service, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver())
    alice = await harness.client("alice")
    drops = {"manager": _drops(manager.session), "client": _drops(alice.session)}
    attacker = RawPeer(await raw_session(harness, "bob"))

    await _attack(attacker, manager.session.boundjid.full)
    await _attack(attacker, alice.session.boundjid.full)

    assert drops == {"manager": [], "client": []}
    assert manager.session.online.is_set() and alice.session.online.is_set()
    job = await alice.print_files("office", [SAMPLE])
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED
    assert drops == {"manager": [], "client": []}


async def test_a_huge_operation_name_is_refused_in_one_bounded_log_line(
    service, harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    attacker = RawPeer(await raw_session(harness, "bob"))
    component_log = "server.transport.component"
    caplog.set_level(logging.INFO, logger=component_log)
    answer = await attacker.iq(SERVICE_JID, f"<{'X' * 20_000} xmlns='{NS}'/>", kind="set")
    assert condition(answer) == "feature-not-implemented"
    (record,) = [r for r in caplog.records if r.name == component_log and "XXX" in r.message]
    assert len(record.getMessage()) < 1000
