"""The one way in (from_xml) and out (to_xml) shared by every payload model.

Mapping, so that the wire reads like IPP:
- every field is a child element named by its IPP attribute name (the field alias);
- a scalar is the element's text (booleans are "true"/"false");
- a list of scalars is one element whose text is the space-separated values
  (xs:list: IPP keywords, enums and integers never contain spaces);
- a nested model is a child element with its own children;
- a list of models repeats the element;
- a None field is left out.
"""

from __future__ import annotations

import base64
import enum
import types
import typing
import xml.etree.ElementTree as ET
from typing import Any, ClassVar, Self, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from stanzas.errors import BadRequest
from stanzas.namespace import NS, qname

MAX_LIST_ITEMS = 1000
MAX_CHILDREN = 4096


def ipp_name(field_name: str) -> str:
    """job_state_reasons -> job-state-reasons."""
    return field_name.replace("_", "-")


class Element(BaseModel):
    """A group of IPP-named elements; nested inside payloads."""

    model_config = ConfigDict(
        alias_generator=ipp_name,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=False,
    )

    # --- out ---------------------------------------------------------------
    def fill_xml(self, parent: ET.Element) -> ET.Element:
        for name, (tag, kind, _inner) in _layout(type(self)).by_name.items():
            value = getattr(self, name)
            if value is None:
                continue
            if kind == "model":
                value.fill_xml(ET.SubElement(parent, tag))
            elif kind == "models":
                for item in value:
                    item.fill_xml(ET.SubElement(parent, tag))
            elif kind == "list":
                ET.SubElement(parent, tag).text = " ".join(_scalar_text(v) for v in value)
            else:
                ET.SubElement(parent, tag).text = _scalar_text(value)
        return parent

    # --- in ----------------------------------------------------------------
    @classmethod
    def _values_from_xml(cls, el: ET.Element) -> dict[str, Any]:
        if len(el) > MAX_CHILDREN:
            raise BadRequest(f"<{_local(el.tag)}> has too many children")
        by_alias = _layout(cls).by_alias
        values: dict[str, Any] = {}
        for child in el:
            if not isinstance(child.tag, str) or not child.tag.startswith("{" + NS + "}"):
                raise BadRequest(f"unexpected element {child.tag!r} in <{_local(el.tag)}>")
            alias = _local(child.tag)
            if alias not in by_alias:
                raise BadRequest(f"unknown element <{alias}> in <{_local(el.tag)}>")
            name, kind, inner = by_alias[alias]
            if kind == "model":
                assert inner is not None
                if name in values:
                    raise BadRequest(f"<{alias}> appears twice")
                if (child.text or "").strip():
                    raise BadRequest(f"<{alias}> holds elements, not text")
                values[name] = inner.from_element(child)
            elif kind == "models":
                assert inner is not None
                items = values.setdefault(name, [])
                if len(items) >= MAX_LIST_ITEMS:
                    raise BadRequest(f"too many <{alias}> elements")
                items.append(inner.from_element(child))
            else:
                if name in values:
                    raise BadRequest(f"<{alias}> appears twice")
                if len(child):
                    raise BadRequest(f"<{alias}> must hold text, not elements")
                text = (child.text or "").strip()
                if kind == "list":
                    parts = text.split()
                    if len(parts) > MAX_LIST_ITEMS:
                        raise BadRequest(f"<{alias}> has too many values")
                    values[name] = parts
                else:
                    values[name] = child.text or ""
        return values

    @classmethod
    def from_element(cls, el: ET.Element) -> Self:
        values = cls._values_from_xml(el)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise BadRequest(_describe(_local(el.tag), exc)) from None


class Payload(Element):
    """A top-level payload: one XML element in our namespace inside an IQ or message."""

    ELEMENT: ClassVar[str]

    def to_xml(self) -> ET.Element:
        return self.fill_xml(ET.Element(qname(self.ELEMENT)))

    @classmethod
    def from_xml(cls, el: ET.Element) -> Self:
        if el.tag != qname(cls.ELEMENT):
            raise BadRequest(f"expected <{cls.ELEMENT} xmlns='{NS}'>, got {el.tag!r}")
        return cls.from_element(el)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _scalar_text(value: object) -> str:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


class _Layout:
    """A model's fields as the wire sees them, worked out once per class (reading the
    annotations on every payload was a tenth of the (de)serialisation time)."""

    def __init__(self, cls: type[Element]) -> None:
        self.by_name: dict[str, tuple[str, str, type[Element] | None]] = {}
        self.by_alias: dict[str, tuple[str, str, type[Element] | None]] = {}
        for name, info in cls.model_fields.items():
            alias = info.alias or ipp_name(name)
            kind, inner = _shape(info.annotation)
            self.by_name[name] = (qname(alias), kind, inner)
            self.by_alias[alias] = (name, kind, inner)


_LAYOUTS: dict[type[Element], _Layout] = {}


def _layout(cls: type[Element]) -> _Layout:
    layout = _LAYOUTS.get(cls)
    if layout is None:
        layout = _LAYOUTS[cls] = _Layout(cls)
    return layout


def _shape(annotation: Any) -> tuple[str, type[Element] | None]:
    """Classify a field type: 'model', 'models', 'list' (of scalars) or 'scalar'."""
    ann = annotation
    if get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in get_args(ann) if a is not type(None)]
        ann = args[0] if len(args) == 1 else ann
    if get_origin(ann) is typing.Annotated:
        ann = get_args(ann)[0]
    if isinstance(ann, type) and issubclass(ann, Element):
        return "model", ann
    if get_origin(ann) is list:
        (item,) = get_args(ann)
        if get_origin(item) is typing.Annotated:
            item = get_args(item)[0]
        if isinstance(item, type) and issubclass(item, Element):
            return "models", item
        return "list", None
    return "scalar", None


def _describe(where: str, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors()[:5]:
        loc = "/".join(ipp_name(str(p)) for p in err["loc"])
        problems.append(f"{loc or where}: {err['msg']}")
    return f"invalid <{where}>: " + "; ".join(problems)
