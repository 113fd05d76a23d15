"""A mutation fuzzer over the wire: mutated stanzas to the service through a real Prosody.

    python -m tests.fuzz_stanzas --count 20000 [--seed 1] [--window 32] [--keep]

Starts a private Prosody and the service as its own process (`python -m server`, as
`cirrus up` runs it, its log in a file), then sends `count` stanzas, each a valid one
mutated once to three times: every stanza of docs/protocol.md's examples (requests,
answers, pushes, errors) and the foreign ones any XMPP client sends a component (ping,
disco, ad-hoc commands, chat, presence). Mutations: deep nesting in any namespace,
huge attributes and texts, wrong and missing namespaces, bad base64, bad integers,
booleans, keywords, UUIDs and dates, missing, repeated, unknown and renamed elements,
empty and doubled payloads, other stanza types and kinds, long and missing ids.

They go from three accounts so that mutations reach past the first check: a user, a
device account (with a device registered on queue `fuzz`) and an administrator.

Counts at the end, read from the wire and from the service's log: IQs answered and
unanswered (an IQ get/set must always get an answer), component disconnects (from the
service's log; 0 is the target), tracebacks and ERROR lines in the service's log (0),
the longest log line, and whether the service still serves a plain request. The exit
status is 1 when any of disconnects, tracebacks or unanswered IQs is not 0, or the
service stopped serving.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import json
import random
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cirrus.stack import toml
from cirrus.stack.local import SERVICE_JID, SERVICE_READY, service_config
from cirrus.stack.process import ManagedProcess
from prosody_config.launcher import ProsodyInstance, start_prosody
from stanzas.namespace import NS
from stanzas.registry import PAYLOADS
from stanzas.session import ServiceSession
from tests.raw_peer import RawPeer, condition

PROTOCOL_MD = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
XML_BLOCK = re.compile(r"^```xml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
MARKER = "{urn:fuzz:marker}m"  # replaced by a deep chain after serialising
ET.register_namespace("fz", "urn:fuzz:marker")
MAX_STANZA = 200_000  # characters: Prosody cuts a c2s stream at 256 KiB
QUEUE = "fuzz"
ANSWER_WAIT = 15.0

FOREIGN_NS = [
    "urn:evil:1",
    "urn:cirrus:cloud-imaging:0",
    "urn:cirrus:cloud-imaging:2",
    "jabber:client",
    "jabber:x:data",
    "http://jabber.org/protocol/commands",
    "http://jabber.org/protocol/disco#info",
    "urn:xmpp:ping",
    "urn:ietf:params:xml:ns:xmpp-stanzas",
    "",
]
BAD_INTS = ["-1", "0", "abc", "1.5", "1e9", " 7 ", "", "99999999999999999999", "0x10", "١٢"]
BAD_WORDS = ["", " ", "exploded", "Pending", "none none", "ü" * 40, "a" * 300, "\t\n"]
BAD_UUIDS = ["", "urn:uuid:", "urn:uuid:zzzz", str(uuid.uuid4()), "urn:uuid:" + "0" * 200]
BAD_BASE64 = ["!!!!", "QUJD=", "====", "A", "QUJD" * 3 + "*", "w" * 1001]
BAD_DATES = ["yesterday", "2024-13-45T99:99:99Z", "-1", "1" * 30, "T", "2024-01-01"]

# The foreign stanzas every XMPP client may send a component (payload only; stanza kind).
FOREIGN_SEEDS = [
    ("iq", "get", "<ping xmlns='urn:xmpp:ping'/>"),
    ("iq", "get", "<query xmlns='http://jabber.org/protocol/disco#info'/>"),
    (
        "iq",
        "get",
        "<query xmlns='http://jabber.org/protocol/disco#items' "
        "node='http://jabber.org/protocol/commands'/>",
    ),
    (
        "iq",
        "set",
        "<command xmlns='http://jabber.org/protocol/commands' node='queues' action='execute'/>",
    ),
    (
        "iq",
        "set",
        "<command xmlns='http://jabber.org/protocol/commands' node='pause' sessionid='x'>"
        "<x xmlns='jabber:x:data' type='submit'><field var='queue'><value>fuzz</value></field>"
        "</x></command>",
    ),
    ("message", "chat", "<body>help</body>"),
    ("message", "chat", "<body>jobs fuzz</body>"),
    ("message", "normal", "<body>devices</body>"),
    ("presence", "", "<show>away</show>"),
    ("presence", "subscribe", ""),
    ("presence", "probe", ""),
]


@dataclass
class Seed:
    kind: str  # iq, message or presence
    type: str  # the stanza's type attribute ("" for none)
    children: list[ET.Element]  # the payload(s)
    role: str  # who sends it: user, device or admin


def protocol_seeds() -> list[Seed]:
    """Every stanza of docs/protocol.md's examples, and the foreign ones."""
    seeds: list[Seed] = []
    for block in XML_BLOCK.findall(PROTOCOL_MD.read_text(encoding="utf-8")):
        for stanza in ET.fromstring(f"<examples>{block}</examples>"):
            kind = stanza.tag.rsplit("}", 1)[-1]
            if kind not in ("iq", "message", "presence"):
                continue
            children = list(stanza)
            name = children[0].tag.rsplit("}", 1)[-1] if children else ""
            seeds.append(Seed(kind, stanza.get("type", ""), children, _role(name)))
    for kind, kind_type, payload in FOREIGN_SEEDS:
        children = list(ET.fromstring(f"<x>{payload}</x>"))
        seeds.append(Seed(kind, kind_type, children, "user"))
    return seeds


def _role(name: str) -> str:
    module = PAYLOADS[name].__module__ if name in PAYLOADS else ""
    return {"stanzas.device_ops": "device", "stanzas.admin_ops": "admin"}.get(module, "user")


class Mutator:
    """Turns a seed into the text of one mutated stanza."""

    def __init__(self, rng: random.Random, device_uuid: str, job_ids: list[int]) -> None:
        self.rng = rng
        self.device_uuid = device_uuid
        self.job_ids = job_ids
        self.mutations: list[Callable[[ET.Element], str]] = [
            self.deep,
            self.deep,  # the defect that took the service off: twice the weight
            self.huge_attribute,
            self.huge_text,
            self.wrong_namespace,
            self.bad_base64,
            self.bad_int,
            self.bad_value,
            self.drop_child,
            self.repeat_child,
            self.unknown_child,
            self.rename,
            self.empty_payload,
            self.double_payload,
            self.retype,
            self.bad_id,
        ]

    def stanza(self, seed: Seed) -> tuple[str, str]:
        """(the mutations' labels, the stanza's text)."""
        stanza = ET.Element(seed.kind, {"to": SERVICE_JID, "id": "?"})
        if seed.type:
            stanza.set("type", seed.type)
        for child in seed.children:
            stanza.append(self._addressed(copy.deepcopy(child)))
        labels = [self.rng.choice(self.mutations)(stanza) for _ in range(self.rng.randint(1, 3))]
        return "+".join(labels), self._text(stanza)

    # --- values the service knows, so that mutations get past the first lookups -------
    def _addressed(self, payload: ET.Element) -> ET.Element:
        for node in payload.iter():
            local = node.tag.rsplit("}", 1)[-1] if isinstance(node.tag, str) else ""
            if local == "output-device-uuid":
                node.text = self.device_uuid
            elif local == "printer-name":
                node.text = QUEUE
            elif local == "job-id" and self.job_ids:
                node.text = str(self.rng.choice(self.job_ids))
        return payload

    def _elements(self, stanza: ET.Element) -> list[ET.Element]:
        """The stanza's elements below it (a payload is added if it has none): the
        stanza itself stays a jabber:client one, or Prosody closes the sender's stream."""
        if not len(stanza):
            ET.SubElement(stanza, f"{{{NS}}}GetJobElements")
        return [e for e in stanza.iter() if e is not stanza and e.tag != MARKER]

    def _text(self, stanza: ET.Element) -> str:
        text = ET.tostring(stanza, encoding="unicode")
        deep = self._deep_text
        replaced = re.sub(r"<fz:m\s*/>", lambda _: deep, text)
        assert replaced != text or "fz:m" not in text, "the deep chain was not put in"
        return replaced

    # --- the mutations; each returns its label -----------------------------------------
    def deep(self, stanza: ET.Element) -> str:
        depth = self.rng.choice([33, 100, 650, 1000, 3000, 20000])
        ns = self.rng.choice([NS, *FOREIGN_NS])
        name = self.rng.choice(["a", "job-ticket", "x", "query", "command", "iq", "error"])
        xmlns = f" xmlns='{ns}'" if ns else ""
        self._deep_text = f"<{name}{xmlns}>" * depth + f"</{name}>" * depth
        self.rng.choice(self._elements(stanza)).append(ET.Element(MARKER))
        return f"deep{depth}"

    _deep_text = ""

    def huge_attribute(self, stanza: ET.Element) -> str:
        size = self.rng.choice([1_000, 30_000, 150_000])
        target = self.rng.choice([stanza, *self._elements(stanza)])
        target.set(self.rng.choice(["evil", "xml:lang", "type", "node"]), "v" * size)
        return "huge-attribute"

    def huge_text(self, stanza: ET.Element) -> str:
        self.rng.choice(self._elements(stanza)).text = "t" * self.rng.choice([5_000, 150_000])
        return "huge-text"

    def wrong_namespace(self, stanza: ET.Element) -> str:
        target = self.rng.choice(self._elements(stanza))
        local = target.tag.rsplit("}", 1)[-1]
        ns = self.rng.choice(FOREIGN_NS)
        target.tag = f"{{{ns}}}{local}" if ns else local
        return "wrong-namespace"

    def bad_base64(self, stanza: ET.Element) -> str:
        for node in self._elements(stanza):
            if node.tag.endswith("document-data"):
                node.text = self.rng.choice(BAD_BASE64)
                return "bad-base64"
        payload = self._elements(stanza)[0]
        ET.SubElement(payload, f"{{{NS}}}document-data").text = self.rng.choice(BAD_BASE64)
        return "bad-base64-added"

    def bad_int(self, stanza: ET.Element) -> str:
        numeric = [n for n in self._elements(stanza) if (n.text or "").strip().isdigit()]
        target = self.rng.choice(numeric or self._elements(stanza))
        target.text = self.rng.choice(BAD_INTS)
        return "bad-int"

    def bad_value(self, stanza: ET.Element) -> str:
        target = self.rng.choice(self._elements(stanza))
        local = target.tag.rsplit("}", 1)[-1]
        if "uuid" in local:
            target.text = self.rng.choice(BAD_UUIDS)
        elif local.startswith(("time-", "date-")) or "until" in local:
            target.text = self.rng.choice(BAD_DATES)
        elif (target.text or "").strip() in ("true", "false"):
            target.text = self.rng.choice(["yes", "TRUE", "2", ""])
        else:
            target.text = self.rng.choice(BAD_WORDS)
        return "bad-value"

    def drop_child(self, stanza: ET.Element) -> str:
        parents = [e for e in stanza.iter() if len(e)]
        parent = self.rng.choice(parents) if parents else stanza
        if len(parent):
            parent.remove(self.rng.choice(list(parent)))
        return "drop-child"

    def repeat_child(self, stanza: ET.Element) -> str:
        parents = [e for e in stanza.iter() if len(e)]
        if parents:  # a repeated marker gets its own deep chain
            parent = self.rng.choice(parents)
            for _ in range(self.rng.choice([1, 2, 50])):
                parent.append(copy.deepcopy(self.rng.choice(list(parent))))
        return "repeat-child"

    def unknown_child(self, stanza: ET.Element) -> str:
        target = self.rng.choice(self._elements(stanza))
        ns = self.rng.choice([NS, *FOREIGN_NS])
        name = self.rng.choice(["evil", "job-id", "iq", "ipp-status", "x" * 200])
        ET.SubElement(target, f"{{{ns}}}{name}" if ns else name).text = "1"
        return "unknown-child"

    def rename(self, stanza: ET.Element) -> str:
        target = self.rng.choice(self._elements(stanza))
        ns = target.tag[1:].split("}", 1)[0] if target.tag.startswith("{") else ""
        name = self.rng.choice([*PAYLOADS, "Shutdown", "x" * 1000, "FetchJobs", "a-b"])
        target.tag = f"{{{ns}}}{name}" if ns else name
        return "rename"

    def empty_payload(self, stanza: ET.Element) -> str:
        for child in list(stanza):
            for grandchild in list(child):
                child.remove(grandchild)
            child.text = None
        return "empty-payload"

    def double_payload(self, stanza: ET.Element) -> str:
        if len(stanza):
            stanza.append(copy.deepcopy(stanza[0]))
        return "double-payload"

    def retype(self, stanza: ET.Element) -> str:
        kinds = {
            "iq": ["get", "set", "result", "error", "", "bogus"],
            "message": ["chat", "headline", "normal", "error", "groupchat", ""],
            "presence": ["", "unavailable", "subscribe", "error", "probe"],
        }
        if self.rng.random() < 0.3:
            stanza.tag = self.rng.choice(list(kinds))
        choice = self.rng.choice(kinds[stanza.tag])
        if choice:
            stanza.set("type", choice)
        else:
            stanza.attrib.pop("type", None)
        return "retype"

    def bad_id(self, stanza: ET.Element) -> str:
        stanza.set("id", self.rng.choice(["", "x" * 300, "x" * 5000]))
        return "bad-id"


@dataclass
class Report:
    stanzas: int = 0
    iqs_expecting_answer: int = 0
    answered: int = 0
    unanswered: int = 0
    unanswered_samples: list[str] = field(default_factory=list)  # their first 300 characters
    answers: Counter[str] = field(default_factory=Counter)  # result / error condition
    labels: Counter[str] = field(default_factory=Counter)
    component_disconnects: int = 0
    service_tracebacks: int = 0
    service_error_lines: int = 0
    longest_log_line: int = 0
    attacker_reconnects: int = 0
    service_still_serves: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.component_disconnects == 0
            and self.service_tracebacks == 0
            and self.unanswered == 0
            and self.service_still_serves
        )


async def run(count: int, *, seed: int = 1, window: int = 32, state: Path | None = None) -> Report:
    """Start Prosody and the service, fuzz, stop both; the counts."""
    own_state = state is None
    state = state or Path(tempfile.mkdtemp(prefix="cx-fuzz-", dir="/tmp"))
    accounts = {name: secrets.token_urlsafe(12) for name in ("mallory", "fuzzdev", "boss", "alice")}
    prosody = await start_prosody(state / "prosody", components=[SERVICE_JID], accounts=accounts)
    log_file = state / "service.log"
    config_file = state / "service.toml"
    service = ManagedProcess("service", "server", ["--config", str(config_file)], log_file)
    report = Report()
    try:
        config = service_config(state / "service", prosody, admins=[prosody.jid("boss")])
        toml.write(config_file, config)
        await service.start(SERVICE_READY)
        peers = {
            role: RawPeer(await _session(prosody, account, accounts[account]))
            for role, account in (("user", "mallory"), ("device", "fuzzdev"), ("admin", "boss"))
        }
        # Sends nothing but the last check (with auto-approval on, the attackers may have
        # made themselves devices, which the service refuses client operations).
        bystander = RawPeer(await _session(prosody, "alice", accounts["alice"]))
        try:
            started = time.monotonic()
            await _fuzz(peers, count, seed, window, report)
            report.seconds = round(time.monotonic() - started, 1)
            report.service_still_serves = await _serves(bystander)
            report.attacker_reconnects = sum(p.reconnects for p in peers.values())
        finally:
            for peer in (*peers.values(), bystander):
                await peer.session.stop()
    finally:
        await service.stop()
        await prosody.stop()
    _read_log(log_file, report)
    if own_state:
        shutil.rmtree(state, ignore_errors=True)
    return report


async def _session(prosody: ProsodyInstance, account: str, password: str) -> ServiceSession:
    session = ServiceSession(
        prosody.jid(account) + "/fuzz",
        password,
        service_jid=SERVICE_JID,
        host=prosody.host,
        port=prosody.c2s_port,
        ca_file=prosody.ca_file,
    )
    await session.start()
    return session


async def _fuzz(peers: dict[str, RawPeer], count: int, seed: int, window: int, r: Report) -> None:
    device_uuid, job_ids = await _prepare(peers)
    rng = random.Random(seed)
    mutator = Mutator(rng, device_uuid, job_ids)
    seeds = protocol_seeds()
    slots = asyncio.Semaphore(window)
    pending: set[asyncio.Task[None]] = set()
    while r.stanzas < count:
        item = rng.choice(seeds)
        peer = peers[item.role] if rng.random() < 0.8 else peers[rng.choice(list(peers))]
        label, text = mutator.stanza(item)
        if len(text) > MAX_STANZA:
            continue  # Prosody would close the sender's stream, not the service's; another
        r.stanzas += 1
        r.labels.update(label.split("+"))
        await peer.session.online.wait()
        key = peer.new_id()
        text = text.replace('id="?"', f'id="{key}"', 1)
        if _expects_answer(text, key):
            await slots.acquire()
            await peer.session.online.wait()
            r.iqs_expecting_answer += 1
            waiter = peer.expect(key)
            peer.send(text)
            task = asyncio.create_task(_await_answer(waiter, text, r))
            task.add_done_callback(lambda _: slots.release())
            pending.add(task)
            task.add_done_callback(pending.discard)
        else:
            peer.send(text)
        await asyncio.sleep(0)
    await asyncio.gather(*pending)


def _expects_answer(text: str, key: str) -> bool:
    """An IQ get/set with an id we can match must be answered (RFC 6120 §8.2.3)."""
    head = text[: text.find(">")]
    return (
        head.startswith("<iq ")
        and re.search(r'type="(get|set)"', head) is not None
        and f'id="{key}"' in head
    )


async def _await_answer(waiter: asyncio.Future[ET.Element], text: str, r: Report) -> None:
    try:
        answer = await asyncio.wait_for(waiter, ANSWER_WAIT)
    except TimeoutError:
        r.unanswered += 1
        if len(r.unanswered_samples) < 10:
            r.unanswered_samples.append(text[:300])
        return
    r.answered += 1
    if answer.get("type") == "result":
        r.answers["result"] += 1
        return
    r.answers[condition(answer) or "?"] += 1


async def _prepare(peers: dict[str, RawPeer]) -> tuple[str, list[int]]:
    """A device on queue `fuzz` (from the device account) and a job of the user's, so
    mutations can name real ones."""
    device_uuid = uuid.uuid4().urn
    # Enrolled as any device is: a one-time code the administrator asks for.
    issued = await peers["admin"].iq(
        SERVICE_JID,
        f"<IssueEnrollmentCode xmlns='{NS}'><printer-name>{QUEUE}</printer-name>"
        "</IssueEnrollmentCode>",
        kind="set",
    )
    code = next(e.text for e in issued.iter() if e.tag.endswith("}enrollment-code"))
    registered = await peers["device"].iq(
        SERVICE_JID,
        f"<RegisterDevice xmlns='{NS}'><output-device-uuid>{device_uuid}</output-device-uuid>"
        f"<service-type>print</service-type><printer-name>{QUEUE}</printer-name>"
        "<capabilities><document-format-supported>application/pdf</document-format-supported>"
        f"</capabilities><enrollment-code>{code}</enrollment-code></RegisterDevice>",
        kind="set",
    )
    assert registered.get("type") == "result", ET.tostring(registered)
    data = base64.b64encode(b"%PDF-1.4 fuzz").decode()
    job_ids = []
    for _ in range(2):
        printed = await peers["user"].iq(
            SERVICE_JID,
            f"<PrintJob xmlns='{NS}'><printer-name>{QUEUE}</printer-name>"
            "<document-name>a.pdf</document-name><document-format>application/pdf"
            f"</document-format><document-data>{data}</document-data></PrintJob>",
            kind="set",
        )
        assert printed.get("type") == "result", ET.tostring(printed)
        job_ids.append(int(next(e.text for e in printed.iter() if e.tag.endswith("}job-id"))))
    return device_uuid, job_ids


async def _serves(peer: RawPeer) -> bool:
    try:
        answer = await peer.iq(SERVICE_JID, f"<GetServices xmlns='{NS}'/>", timeout=ANSWER_WAIT)
    except TimeoutError:
        return False
    return answer.get("type") == "result"


def _read_log(log_file: Path, r: Report) -> None:
    lines = log_file.read_text(errors="replace").splitlines()
    r.service_tracebacks = sum("Traceback (most recent call last)" in line for line in lines)
    r.service_error_lines = sum(" ERROR " in line or " CRITICAL " in line for line in lines)
    r.longest_log_line = max((len(line) for line in lines), default=0)
    online = sum(f"component {SERVICE_JID} online" in line for line in lines)
    lost = sum("lost the XMPP server" in line for line in lines)
    r.component_disconnects = max(lost, online - 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz_stanzas", description=__doc__)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--window", type=int, default=32, help="IQs in flight at most")
    parser.add_argument("--keep", type=Path, help="keep the state (logs) in this folder")
    args = parser.parse_args(argv)
    report = asyncio.run(run(args.count, seed=args.seed, window=args.window, state=args.keep))
    summary = {k: dict(v) if isinstance(v, Counter) else v for k, v in vars(report).items()}
    print(json.dumps(summary, indent=2))
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
