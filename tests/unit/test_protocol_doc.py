"""Every XML example in docs/protocol.md is schema-valid and read by the code.

Each ```xml block is parsed (wrapped in one root element, so a block may show a request
and its answer together). Every element in our namespace whose parent is not, i.e. each
payload and each <ipp-status/>, is validated against docs/cirrus-cloud-imaging.xsd, and
each payload is also read by its model's from_xml and written back unchanged. Every
payload of stanzas.registry.PAYLOADS must appear in at least one example.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from stanzas.errors import ERRORS_BY_STATUS, XMPP_CONDITIONS
from stanzas.namespace import NS, STANZA_ERRORS_NS
from stanzas.registry import MESSAGE_PAYLOADS, PAYLOADS
from stanzas.transport import iq_type_for
from tests.schema_check import validate_payload

PROTOCOL_MD = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
XML_BLOCK = re.compile(r"^```xml[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def xml_blocks() -> list[str]:
    return XML_BLOCK.findall(PROTOCOL_MD.read_text(encoding="utf-8"))


def parse_block(block: str) -> ET.Element:
    return ET.fromstring(f"<examples>{block}</examples>")


def ours(tag: object) -> bool:
    return isinstance(tag, str) and tag.startswith("{" + NS + "}")


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def payload_roots(block: str) -> list[tuple[ET.Element, ET.Element]]:
    """(stanza-level parent, element) for each element of ours whose parent is not ours."""
    found = []
    for parent in parse_block(block).iter():
        if ours(parent.tag):
            continue
        found += [(parent, child) for child in parent if ours(child.tag)]
    return found


BLOCKS = xml_blocks()


def test_the_document_has_examples() -> None:
    assert len(BLOCKS) >= len(PAYLOADS) // 2


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_example_is_schema_valid_and_read_by_the_code(block: str) -> None:
    roots = payload_roots(block)
    assert roots, "an example without any element in " + NS
    for parent, element in roots:
        validate_payload(element)
        name = local(element.tag)
        if name == "ipp-status":
            assert local(parent.tag) == "error"
            assert element.text in ERRORS_BY_STATUS
            continue
        if name == "job-ids":  # the jobs an all-or-nothing operation refused
            assert local(parent.tag) == "error"
            assert parent.find(f"{{{NS}}}ipp-status") is not None
            continue
        assert name in PAYLOADS, f"<{name}> is not a payload"
        model = PAYLOADS[name].from_xml(element)
        assert PAYLOADS[name].from_xml(ET.fromstring(ET.tostring(model.to_xml()))) == model


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block-{i}" for i in range(len(BLOCKS))])
def test_example_stanzas_follow_the_transport_rules(block: str) -> None:
    for stanza in parse_block(block):
        kind = local(stanza.tag)
        assert kind in ("iq", "message"), f"unexpected top-level <{kind}>"
        payloads = [c for c in stanza if ours(c.tag)]
        if kind == "message":
            assert stanza.get("type") == "headline"
            assert stanza.get("from") == "print.localhost"
            assert [local(p.tag) for p in payloads] in ([n] for n in MESSAGE_PAYLOADS)
            continue
        iq_type = stanza.get("type")
        assert stanza.get("id")
        if iq_type in ("get", "set"):
            assert stanza.get("to") == "print.localhost"
            (payload,) = payloads
            name = local(payload.tag)
            assert name not in MESSAGE_PAYLOADS and not name.endswith("Response")
            assert iq_type == iq_type_for(PAYLOADS[name].from_xml(payload)), name
        elif iq_type == "result":
            assert stanza.get("from") == "print.localhost"
            (payload,) = payloads
            assert local(payload.tag).endswith("Response")
        else:
            assert iq_type == "error" and payloads == []
            error = stanza.find("error")
            assert error is not None
            status = error.findtext(f"{{{NS}}}ipp-status")
            condition = next(c for c in error if c.tag.startswith("{" + STANZA_ERRORS_NS + "}"))
            assert (local(condition.tag), error.get("type")) == XMPP_CONDITIONS[status]


def test_every_payload_has_an_example() -> None:
    shown = {local(element.tag) for block in BLOCKS for _parent, element in payload_roots(block)}
    missing = sorted(set(PAYLOADS) - shown)
    assert missing == [], f"payloads without an example in {PROTOCOL_MD.name}: {missing}"
    assert "ipp-status" in shown
    assert "job-ids" in shown


def test_every_payload_has_a_section() -> None:
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    headings = set(re.findall(r"^### (\w+)", text, re.MULTILINE))
    requests = {n for n in PAYLOADS if not n.endswith("Response")}
    assert requests <= headings, sorted(requests - headings)
