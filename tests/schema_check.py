"""Validation of payload elements against docs/cirrus-cloud-imaging.xsd (a test helper).

The code builds and reads payloads with xml.etree; lxml validates. An element goes
across as bytes (ET.tostring -> lxml fromstring), so what is checked is exactly what
would go on the wire.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "cirrus-cloud-imaging.xsd"


@functools.cache
def compiled_schema() -> etree.XMLSchema:
    """The schema, parsed and compiled once per process."""
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


def validate_payload(element: ET.Element) -> None:
    """Raise AssertionError, with lxml's error log and the XML, unless `element` (a
    payload or an <ipp-status/>) is valid against the schema."""
    data = ET.tostring(element, encoding="utf-8")
    try:
        document = etree.fromstring(data)
    except etree.XMLSyntaxError as exc:
        raise AssertionError(f"not well-formed XML ({exc}):\n{data!r}") from None
    schema = compiled_schema()
    if not schema.validate(document):
        errors = "\n".join(f"  line {e.line}: {e.message}" for e in schema.error_log)
        raise AssertionError(
            f"<{element.tag}> is not valid against {SCHEMA_PATH.name}:\n{errors}\n"
            f"{data.decode('utf-8', 'replace')}"
        )
