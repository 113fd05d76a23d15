"""An IPP message codec (RFC 8010 "application/ipp"), strict and complete.

Model
-----
``IppMessage(version, code, request_id, groups)``: ``code`` is the operation-id of a
request or the status-code of a response. ``groups`` is an ordered list of
``IppGroup(tag, attributes)``; an ``IppAttribute`` is a name and an ordered list of
``IppValue(tag, value)`` (more than one value = a 1setOf). Python value types by tag:

====================================  ==========================================
integer, enum                         ``int`` (signed 32 bit)
boolean                               ``bool``
octetString                           ``bytes``
dateTime                              ``datetime.datetime`` (timezone-aware)
resolution                            ``Resolution``
rangeOfInteger                        ``RangeOfInteger``
textWithLanguage, nameWithLanguage    ``StringWithLanguage``
other character strings               ``str``
collection (begCollection)            ``IppCollection`` (ordered member attributes)
out-of-band (unsupported, unknown,    ``None``
no-value, not-settable,
delete-attribute, admin-define)
unassigned tags, extension (0x7F)     ``bytes`` (the raw value, kept unchanged)
====================================  ==========================================

Entry points: ``encode(msg) -> bytes``; ``decode(data) -> (msg, offset_of_document_data)``;
``decode_stream(reader)`` reads exactly the attribute part from an async reader (an
``asyncio.StreamReader`` or aiohttp ``StreamReader``) and leaves the document data in it;
``decode_chunks(chunks)`` does the same for an async iterator of chunks; and
``IppStreamDecoder`` is the push-style (sans-I/O) decoder underneath.

Malformed input raises ``IppParseError`` (and nothing else); the work done is bounded by
the input's length. Values that cannot be encoded raise ``IppEncodeError``.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import re
import struct
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Generator,
    Iterable,
    Mapping,
)
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, Self

from .constants import (
    ASCII_STRING_TAGS,
    ATTRIBUTE_SYNTAX,
    OUT_OF_BAND_TAGS,
    UTF8_STRING_TAGS,
    GroupTag,
    ValueTag,
    is_successful,
    operation_name,
    status_name,
)

__all__ = [
    "DEFAULT_MAX_SIZE",
    "MAX_COLLECTION_DEPTH",
    "AsyncReader",
    "IppAttribute",
    "IppCollection",
    "IppEncodeError",
    "IppGroup",
    "IppMessage",
    "IppParseError",
    "IppRequest",
    "IppStreamDecoder",
    "IppValue",
    "RangeOfInteger",
    "Resolution",
    "StringWithLanguage",
    "decode",
    "decode_chunks",
    "decode_stream",
    "encode",
    "make_response",
    "make_values",
]

#: Deepest collection nesting accepted (and produced); real attributes nest 2-4 deep.
MAX_COLLECTION_DEPTH = 32
#: Default bound on the attribute part read by the streaming decoders.
DEFAULT_MAX_SIZE = 8 * 1024 * 1024

_INT_MIN = -(2**31)
_INT_MAX = 2**31 - 1
_MAX_LENGTH = 0x7FFF  # name-length and value-length are SIGNED-SHORT

_T_END = 0x03
_T_BEG = ValueTag.BEG_COLLECTION.value
_T_END_COLL = ValueTag.END_COLLECTION.value
_T_MEMBER = ValueTag.MEMBER_ATTR_NAME.value
_T_EXT = ValueTag.EXTENSION.value

_HEAD = struct.Struct(">BBHiB")
_HEAD_OUT = struct.Struct(">BBHi")
_I32 = struct.Struct(">i")
_RANGE = struct.Struct(">ii")
_RES = struct.Struct(">iib")
_DATE = struct.Struct(">HBBBBBBcBB")

_GROUP_TAGS = {t.value: t for t in GroupTag}
_VALUE_TAGS = {t.value: t for t in ValueTag}


# --------------------------------------------------------------------------- errors


class IppParseError(ValueError):
    """The bytes are not a well-formed IPP message. ``offset`` is where it went wrong
    (the number of bytes consumed when the problem was found), when known."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        self.message = message
        self.offset = offset
        super().__init__(message if offset is None else f"{message} (at byte {offset})")

    def at(self, offset: int) -> IppParseError:
        """This error with ``offset`` filled in if it had none."""
        if self.offset is not None:
            return self
        err = IppParseError(self.message, offset)
        err.__cause__ = self.__cause__
        return err


class IppEncodeError(ValueError):
    """A message or value that cannot be encoded (wrong type, out of range, too long)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Resolution:
    """A resolution value: cross-feed (x) and feed (y) direction, units 3 = dpi, 4 = dpcm."""

    x: int
    y: int
    units: int = 3


@dataclass(frozen=True, slots=True)
class RangeOfInteger:
    """A rangeOfInteger value (both bounds inclusive)."""

    lower: int
    upper: int


@dataclass(frozen=True, slots=True)
class StringWithLanguage:
    """A textWithLanguage or nameWithLanguage value."""

    text: str
    language: str


class IppValue(NamedTuple):
    """One attribute value: its value tag and the Python value."""

    tag: int
    value: Any


@dataclass
class IppAttribute:
    """An attribute: a name and its ordered values (several values = 1setOf)."""

    name: str
    values: list[IppValue] = field(default_factory=list)

    @property
    def tag(self) -> int:
        """The first value's tag."""
        return self.values[0].tag

    @property
    def value(self) -> Any:
        """The first value."""
        return self.values[0].value

    @property
    def all_values(self) -> list[Any]:
        """All values (without their tags)."""
        return [v.value for v in self.values]

    @property
    def is_out_of_band(self) -> bool:
        return len(self.values) == 1 and int(self.values[0].tag) in OUT_OF_BAND_TAGS


class _Attributes:
    """Ordered attribute list with convenient look-ups (shared by groups and collections)."""

    attributes: list[IppAttribute]

    def get(self, name: str) -> IppAttribute | None:
        """The first attribute called ``name``, or None."""
        for attr in self.attributes:
            if attr.name == name:
                return attr
        return None

    def __contains__(self, name: object) -> bool:
        return any(attr.name == name for attr in self.attributes)

    def first(self, name: str, default: Any = None) -> Any:
        """The first value of ``name``; ``default`` when the attribute is missing or its
        value is out-of-band (no-value, unknown, unsupported...)."""
        attr = self.get(name)
        if attr is None or not attr.values or int(attr.values[0].tag) in OUT_OF_BAND_TAGS:
            return default
        return attr.values[0].value

    def values(self, name: str) -> list[Any]:
        """All values of ``name`` (empty when missing or out-of-band)."""
        attr = self.get(name)
        if attr is None:
            return []
        return [v.value for v in attr.values if int(v.tag) not in OUT_OF_BAND_TAGS]

    def names(self) -> list[str]:
        return [attr.name for attr in self.attributes]

    def add(self, name: str, value: Any, tag: int | None = None) -> IppAttribute:
        """Append an attribute built from Python value(s) (see ``make_values``)."""
        attr = IppAttribute(name, make_values(name, value, tag))
        self.attributes.append(attr)
        return attr

    def set(self, name: str, value: Any, tag: int | None = None) -> IppAttribute:
        """Replace the attribute ``name`` (keeping its position) or append it."""
        new = IppAttribute(name, make_values(name, value, tag))
        for i, attr in enumerate(self.attributes):
            if attr.name == name:
                self.attributes[i] = new
                return new
        self.attributes.append(new)
        return new

    def remove(self, name: str) -> bool:
        """Remove every attribute called ``name``; True if there was one."""
        before = len(self.attributes)
        self.attributes = [a for a in self.attributes if a.name != name]
        return len(self.attributes) != before

    def to_dict(self) -> dict[str, Any]:
        """{name: value} (a list for multi-valued attributes, dicts for collections)."""
        out: dict[str, Any] = {}
        for attr in self.attributes:
            vals = [
                v.value.to_dict() if isinstance(v.value, IppCollection) else v.value
                for v in attr.values
            ]
            out[attr.name] = vals[0] if len(vals) == 1 else vals
        return out


@dataclass
class IppCollection(_Attributes):
    """A collection value: ordered member attributes."""

    attributes: list[IppAttribute] = field(default_factory=list)

    @classmethod
    def from_dict(cls, members: Mapping[str, Any]) -> IppCollection:
        """Build from {member-name: python value(s)}; tags are chosen by ``make_values``."""
        coll = cls()
        for name, value in members.items():
            coll.add(name, value)
        return coll


@dataclass
class IppGroup(_Attributes):
    """An attribute group: a delimiter tag and ordered attributes."""

    tag: int
    attributes: list[IppAttribute] = field(default_factory=list)


@dataclass
class IppMessage:
    """An IPP request or response."""

    version: tuple[int, int] = (2, 0)
    code: int = 0  # operation-id (request) or status-code (response)
    request_id: int = 1
    groups: list[IppGroup] = field(default_factory=list)

    # -- header aliases
    @property
    def operation_id(self) -> int:
        return self.code

    @operation_id.setter
    def operation_id(self, value: int) -> None:
        self.code = value

    @property
    def status_code(self) -> int:
        return self.code

    @status_code.setter
    def status_code(self, value: int) -> None:
        self.code = value

    @property
    def status_name(self) -> str:
        return status_name(self.code)

    @property
    def operation_name(self) -> str:
        return operation_name(self.code)

    @property
    def is_successful(self) -> bool:
        return is_successful(self.code)

    @property
    def status_message(self) -> str:
        """The "status-message" operation attribute ("" if absent)."""
        value = self.first("status-message", "", group=GroupTag.OPERATION)
        return value.text if isinstance(value, StringWithLanguage) else str(value)

    # -- groups
    def group(self, tag: int) -> IppGroup | None:
        """The first group with this delimiter tag."""
        for group in self.groups:
            if group.tag == tag:
                return group
        return None

    def groups_of(self, tag: int) -> list[IppGroup]:
        """All groups with this delimiter tag, in order (e.g. the jobs of Get-Jobs)."""
        return [g for g in self.groups if g.tag == tag]

    def add_group(self, tag: int) -> IppGroup:
        group = IppGroup(tag)
        self.groups.append(group)
        return group

    def _group_for(self, tag: int) -> IppGroup:
        for group in reversed(self.groups):
            if group.tag == tag:
                return group
        return self.add_group(tag)

    @property
    def operation(self) -> IppGroup | None:
        return self.group(GroupTag.OPERATION)

    # -- attributes
    def get(self, name: str, group: int | None = None) -> IppAttribute | None:
        """The first attribute called ``name`` (in groups with tag ``group`` if given)."""
        for g in self.groups:
            if group is not None and g.tag != group:
                continue
            attr = g.get(name)
            if attr is not None:
                return attr
        return None

    def first(self, name: str, default: Any = None, group: int | None = None) -> Any:
        """The first value of ``name`` (``default`` if missing or out-of-band)."""
        for g in self.groups:
            if group is not None and g.tag != group:
                continue
            if name in g:
                return g.first(name, default)
        return default

    def values(self, name: str, group: int | None = None) -> list[Any]:
        """All values of the first attribute called ``name``."""
        for g in self.groups:
            if group is not None and g.tag != group:
                continue
            if name in g:
                return g.values(name)
        return []

    def describe(self) -> str:
        """A readable multi-line dump (for logs and debugging)."""
        lines = [
            f"IPP/{self.version[0]}.{self.version[1]} code=0x{self.code:04x} "
            f"request-id={self.request_id}"
        ]
        for g in self.groups:
            tag = _GROUP_TAGS.get(int(g.tag))
            lines.append(f"  [{tag.name.lower() if tag else hex(g.tag)}]")
            for attr in g.attributes:
                vals = ", ".join(_describe_value(v) for v in attr.values)
                lines.append(f"    {attr.name} = {vals}")
        return "\n".join(lines)


def _describe_value(v: IppValue) -> str:
    tag = _VALUE_TAGS.get(int(v.tag))
    name = tag.keyword if tag else f"0x{int(v.tag):02x}"
    if isinstance(v.value, IppCollection):
        inner = " ".join(
            f"{a.name}={','.join(_describe_value(x) for x in a.values)}" for a in v.value.attributes
        )
        return "{" + inner + "}"
    if v.value is None:
        return name
    return f"{v.value!r}({name})"


class IppRequest(IppMessage):
    """A request under construction. The operation group starts with
    attributes-charset and attributes-natural-language (RFC 8011 §4.1.4)::

        req = IppRequest(Operation.CREATE_JOB, 7).operation_attributes(
            printer_uri="ipp://127.0.0.1:8631/ipp/print", requesting_user_name="ann",
        ).job_attributes(copies=2, media="iso_a4_210x297mm")

    Keyword arguments name attributes with "_" for "-"; a mapping may be given
    positionally instead. ``None`` values are skipped; the tag of each value comes from
    ``make_values`` (pass an ``IppValue`` to choose it explicitly).
    """

    def __init__(
        self,
        operation: int,
        request_id: int = 1,
        *,
        version: tuple[int, int] = (2, 0),
        charset: str = "utf-8",
        natural_language: str = "en",
    ) -> None:
        super().__init__(version=version, code=int(operation), request_id=request_id, groups=[])
        op = self.add_group(GroupTag.OPERATION)
        op.add("attributes-charset", charset, ValueTag.CHARSET)
        op.add("attributes-natural-language", natural_language, ValueTag.NATURAL_LANGUAGE)

    def attributes(
        self,
        group_tag: int,
        attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        /,
        **kwargs: Any,
    ) -> Self:
        """Add attributes to the last group with ``group_tag`` (created if needed)."""
        group = self._group_for(group_tag)
        items: list[tuple[str, Any]] = []
        if attrs is not None:
            items.extend(attrs.items() if isinstance(attrs, Mapping) else attrs)
        items.extend((key.replace("_", "-"), value) for key, value in kwargs.items())
        for name, value in items:
            if value is not None:
                group.add(name, value)
        return self

    def operation_attributes(
        self, attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, /, **kwargs: Any
    ) -> Self:
        return self.attributes(GroupTag.OPERATION, attrs, **kwargs)

    def job_attributes(
        self, attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, /, **kwargs: Any
    ) -> Self:
        return self.attributes(GroupTag.JOB, attrs, **kwargs)

    def printer_attributes(
        self, attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, /, **kwargs: Any
    ) -> Self:
        return self.attributes(GroupTag.PRINTER, attrs, **kwargs)

    def document_attributes(
        self, attrs: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None, /, **kwargs: Any
    ) -> Self:
        return self.attributes(GroupTag.DOCUMENT, attrs, **kwargs)


def make_response(
    request: IppMessage,
    status: int = 0,
    *,
    status_message: str | None = None,
    charset: str = "utf-8",
    natural_language: str = "en",
) -> IppMessage:
    """A response to ``request``: same version and request-id, the operation group with
    charset, natural language and (optionally) status-message."""
    resp = IppMessage(version=request.version, code=int(status), request_id=request.request_id)
    op = resp.add_group(GroupTag.OPERATION)
    op.add("attributes-charset", charset, ValueTag.CHARSET)
    op.add("attributes-natural-language", natural_language, ValueTag.NATURAL_LANGUAGE)
    if status_message:
        op.add("status-message", status_message, ValueTag.TEXT)
    return resp


# --------------------------------------------------------------------------- value building

_STR_TAGS = ASCII_STRING_TAGS | UTF8_STRING_TAGS


def make_values(name: str, value: Any, tag: int | None = None) -> list[IppValue]:
    """Turn Python value(s) into ``IppValue``s for attribute ``name``.

    With ``tag`` given, every value gets that tag (a mapping becomes a collection).
    Otherwise: ``IppValue`` as is; list/tuple = 1setOf; None = no-value; bool = boolean;
    int = integer (enum if ``ATTRIBUTE_SYNTAX`` says so); str = the attribute's usual
    string syntax from ``ATTRIBUTE_SYNTAX`` or keyword; bytes = octetString; datetime =
    dateTime; Resolution, RangeOfInteger, StringWithLanguage (name- or textWithLanguage);
    IppCollection or a mapping = collection.
    """
    if isinstance(value, IppValue):
        return [value]
    if isinstance(value, list | tuple):
        if not value:
            raise IppEncodeError(f"{name}: an attribute needs at least one value")
        out: list[IppValue] = []
        for item in value:
            out.extend(make_values(name, item, tag))
        return out
    return [_make_value(name, value, tag)]


def _make_value(name: str, value: Any, tag: int | None) -> IppValue:
    if isinstance(value, Mapping):
        value = IppCollection.from_dict(value)
    if tag is not None:
        return IppValue(_VALUE_TAGS.get(int(tag), int(tag)), value)
    hint = ATTRIBUTE_SYNTAX.get(name)
    if value is None:
        return IppValue(ValueTag.NO_VALUE, None)
    if isinstance(value, bool):
        return IppValue(ValueTag.BOOLEAN, value)
    if isinstance(value, int):
        return IppValue(ValueTag.ENUM if hint == ValueTag.ENUM else ValueTag.INTEGER, value)
    if isinstance(value, str):
        return IppValue(hint if hint is not None and hint in _STR_TAGS else ValueTag.KEYWORD, value)
    if isinstance(value, bytes | bytearray | memoryview):
        return IppValue(ValueTag.OCTET_STRING, bytes(value))
    if isinstance(value, _dt.datetime):
        return IppValue(ValueTag.DATE_TIME, value)
    if isinstance(value, Resolution):
        return IppValue(ValueTag.RESOLUTION, value)
    if isinstance(value, RangeOfInteger):
        return IppValue(ValueTag.RANGE_OF_INTEGER, value)
    if isinstance(value, StringWithLanguage):
        kind = ValueTag.NAME_WITH_LANGUAGE if hint == ValueTag.NAME else ValueTag.TEXT_WITH_LANGUAGE
        return IppValue(kind, value)
    if isinstance(value, IppCollection):
        return IppValue(ValueTag.BEG_COLLECTION, value)
    raise IppEncodeError(f"{name}: no IPP syntax for a {type(value).__name__} value")


# --------------------------------------------------------------------------- encoding


def encode(msg: IppMessage) -> bytes:
    """Encode the attribute part of ``msg`` (header, groups, end-of-attributes-tag).
    Document data, if any, follows it on the wire."""
    try:
        major, minor = msg.version
        head = _HEAD_OUT.pack(major, minor, msg.code, msg.request_id)
    except (struct.error, TypeError, ValueError) as exc:
        raise IppEncodeError(f"bad message header: {exc}") from None
    out = bytearray(head)
    for group in msg.groups:
        gtag = int(group.tag)
        if not 0x01 <= gtag <= 0x0F or gtag == _T_END:
            raise IppEncodeError(f"0x{gtag:02x} is not an attribute group tag")
        out.append(gtag)
        for attr in group.attributes:
            name = _encode_name(attr.name)
            if not attr.values:
                raise IppEncodeError(f"attribute {attr.name!r} has no values")
            for i, value in enumerate(attr.values):
                _encode_value(out, name if i == 0 else b"", value, attr.name, 0)
    out.append(_T_END)
    return bytes(out)


def _encode_name(name: str) -> bytes:
    if not isinstance(name, str) or not name:
        raise IppEncodeError(f"attribute name must be a non-empty string, not {name!r}")
    try:
        raw = name.encode("ascii")
    except UnicodeEncodeError:
        raise IppEncodeError(f"attribute name {name!r} is not US-ASCII") from None
    if len(raw) > _MAX_LENGTH:
        raise IppEncodeError(f"attribute name {name[:40]!r}... is too long")
    return raw


def _encode_value(out: bytearray, name: bytes, item: IppValue, where: str, depth: int) -> None:
    try:
        tag = int(item[0])
        value = item[1]
    except (TypeError, ValueError, IndexError):
        raise IppEncodeError(
            f"{where}: values must be IppValue(tag, value), not {item!r}"
        ) from None
    if tag == _T_BEG:
        if not isinstance(value, IppCollection):
            raise IppEncodeError(f"{where}: a collection value must be an IppCollection")
        if depth >= MAX_COLLECTION_DEPTH:
            raise IppEncodeError(f"{where}: collections nested deeper than {MAX_COLLECTION_DEPTH}")
        out.append(_T_BEG)
        out += len(name).to_bytes(2, "big")
        out += name
        out += b"\x00\x00"
        for member in value.attributes:
            member_name = _encode_name(member.name)
            if not member.values:
                raise IppEncodeError(f"{where}/{member.name}: collection member has no values")
            out.append(_T_MEMBER)
            out += b"\x00\x00"
            out += len(member_name).to_bytes(2, "big")
            out += member_name
            for member_value in member.values:
                _encode_value(out, b"", member_value, f"{where}/{member.name}", depth + 1)
        out += b"\x37\x00\x00\x00\x00"
        return
    raw = _encode_plain(tag, value, where)
    if len(raw) > _MAX_LENGTH:
        raise IppEncodeError(f"{where}: value is {len(raw)} octets (at most {_MAX_LENGTH})")
    out.append(tag)
    out += len(name).to_bytes(2, "big")
    out += name
    out += len(raw).to_bytes(2, "big")
    out += raw


def _check_int(value: Any, where: str, lo: int = _INT_MIN, hi: int = _INT_MAX) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise IppEncodeError(f"{where}: expected an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise IppEncodeError(f"{where}: {value} is out of range [{lo}, {hi}]")
    return value


def _encode_plain(tag: int, value: Any, where: str) -> bytes:
    if tag in (_T_END_COLL, _T_MEMBER):
        raise IppEncodeError(f"{where}: tag 0x{tag:02x} only appears inside collections")
    if tag in (ValueTag.INTEGER, ValueTag.ENUM):
        return _I32.pack(_check_int(value, where))
    if tag in _STR_TAGS:
        if not isinstance(value, str):
            raise IppEncodeError(f"{where}: expected a str, got {type(value).__name__}")
        codec = "ascii" if tag in ASCII_STRING_TAGS else "utf-8"
        try:
            return value.encode(codec)
        except UnicodeEncodeError:
            raise IppEncodeError(f"{where}: {value[:40]!r} is not valid {codec}") from None
    if tag == ValueTag.BOOLEAN:
        if not isinstance(value, bool):
            raise IppEncodeError(f"{where}: expected a bool, got {type(value).__name__}")
        return b"\x01" if value else b"\x00"
    if tag in OUT_OF_BAND_TAGS:
        if value is not None:
            raise IppEncodeError(f"{where}: out-of-band values carry no value (use None)")
        return b""
    if tag == ValueTag.OCTET_STRING:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise IppEncodeError(f"{where}: expected bytes, got {type(value).__name__}")
        return bytes(value)
    if tag == ValueTag.DATE_TIME:
        return _encode_datetime(value, where)
    if tag == ValueTag.RESOLUTION:
        if not isinstance(value, Resolution):
            raise IppEncodeError(f"{where}: expected a Resolution, got {type(value).__name__}")
        return _RES.pack(
            _check_int(value.x, where),
            _check_int(value.y, where),
            _check_int(value.units, where, -128, 127),
        )
    if tag == ValueTag.RANGE_OF_INTEGER:
        if not isinstance(value, RangeOfInteger):
            raise IppEncodeError(f"{where}: expected a RangeOfInteger, got {type(value).__name__}")
        return _RANGE.pack(_check_int(value.lower, where), _check_int(value.upper, where))
    if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE):
        if not isinstance(value, StringWithLanguage):
            raise IppEncodeError(
                f"{where}: expected a StringWithLanguage, got {type(value).__name__}"
            )
        try:
            lang = value.language.encode("ascii")
            text = value.text.encode("utf-8")
        except (UnicodeEncodeError, AttributeError):
            raise IppEncodeError(f"{where}: bad text or language in {value!r}") from None
        if len(lang) > _MAX_LENGTH or len(text) > _MAX_LENGTH:
            raise IppEncodeError(f"{where}: value too long")
        return len(lang).to_bytes(2, "big") + lang + len(text).to_bytes(2, "big") + text
    if tag == _T_EXT:
        if not isinstance(value, bytes) or len(value) < 4 or value[0] & 0x80:
            raise IppEncodeError(
                f"{where}: an extension (0x7f) value is bytes starting with a 31-bit type"
            )
        return value
    if 0x10 <= tag <= 0x7E:
        if not isinstance(value, bytes):
            raise IppEncodeError(f"{where}: values of unassigned tag 0x{tag:02x} must be bytes")
        return value
    raise IppEncodeError(f"{where}: 0x{tag:02x} is not a value tag")


def _encode_datetime(value: Any, where: str) -> bytes:
    if not isinstance(value, _dt.datetime):
        raise IppEncodeError(f"{where}: expected a datetime, got {type(value).__name__}")
    offset = value.utcoffset() or _dt.timedelta(0)
    seconds = offset.total_seconds()
    if seconds % 60:
        raise IppEncodeError(f"{where}: UTC offset {offset} is not whole minutes")
    minutes = int(seconds // 60)
    hours, mins = divmod(abs(minutes), 60)
    if hours > 14:
        raise IppEncodeError(f"{where}: UTC offset {offset} is beyond 14 hours")
    return _DATE.pack(
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond // 100_000,
        b"+" if minutes >= 0 else b"-",
        hours,
        mins,
    )


# --------------------------------------------------------------------------- decoding


_NAME_RE = re.compile(rb"[\x21-\x7e]+")
#: Attribute names decoded before: a few hundred real ones recur in every message. Only
#: names of a plausible length are kept, and at most _NAME_CACHE_SIZE of them, so that
#: names a peer makes up (up to 32 KiB each) cannot fill memory.
_NAME_CACHE: dict[bytes, str] = {}
_NAME_CACHE_SIZE = 4096
_NAME_CACHE_LONGEST = 64


def _decode_name(raw: bytes, what: str) -> str:
    name = _NAME_CACHE.get(raw)
    if name is not None:
        return name
    if not raw:
        raise IppParseError(f"empty {what}")
    if _NAME_RE.fullmatch(raw) is None:
        raise IppParseError(f"{what} {raw[:40]!r} contains a byte outside printable US-ASCII")
    name = raw.decode("ascii")
    if len(raw) <= _NAME_CACHE_LONGEST and len(_NAME_CACHE) < _NAME_CACHE_SIZE:
        _NAME_CACHE[raw] = name
    return name


def _decode_plain(tag: int, raw: bytes) -> Any:
    n = len(raw)
    if tag in (ValueTag.INTEGER, ValueTag.ENUM):
        if n != 4:
            raise IppParseError(f"{_tag_label(tag)} value must be 4 octets, not {n}")
        return _I32.unpack(raw)[0]
    if tag in ASCII_STRING_TAGS:
        if not raw.isascii():
            raise IppParseError(f"{_tag_label(tag)} value {raw[:40]!r} is not US-ASCII")
        return raw.decode("ascii")
    if tag in UTF8_STRING_TAGS:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise IppParseError(f"{_tag_label(tag)} value {raw[:40]!r} is not UTF-8") from None
    if tag == ValueTag.BOOLEAN:
        if n != 1 or raw[0] > 1:
            raise IppParseError(f"boolean value must be one octet 0x00 or 0x01, not {raw!r}")
        return raw[0] == 1
    if tag in OUT_OF_BAND_TAGS:
        if n:
            raise IppParseError(
                f"out-of-band {_tag_label(tag)} value must be empty, not {n} octets"
            )
        return None
    if tag == ValueTag.OCTET_STRING:
        return raw
    if tag == ValueTag.DATE_TIME:
        return _decode_datetime(raw)
    if tag == ValueTag.RESOLUTION:
        if n != 9:
            raise IppParseError(f"resolution value must be 9 octets, not {n}")
        x, y, units = _RES.unpack(raw)
        return Resolution(x, y, units)
    if tag == ValueTag.RANGE_OF_INTEGER:
        if n != 8:
            raise IppParseError(f"rangeOfInteger value must be 8 octets, not {n}")
        lower, upper = _RANGE.unpack(raw)
        return RangeOfInteger(lower, upper)
    if tag in (ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE):
        if n < 4:
            raise IppParseError(f"{_tag_label(tag)} value is too short ({n} octets)")
        lang_len = (raw[0] << 8) | raw[1]
        if 2 + lang_len + 2 > n:
            raise IppParseError(f"{_tag_label(tag)}: language length {lang_len} overruns value")
        text_len = (raw[2 + lang_len] << 8) | raw[3 + lang_len]
        if 4 + lang_len + text_len != n:
            raise IppParseError(
                f"{_tag_label(tag)}: inner lengths {lang_len}+{text_len} do not match "
                f"value-length {n}"
            )
        lang = raw[2 : 2 + lang_len]
        if not lang.isascii():
            raise IppParseError(f"{_tag_label(tag)}: language {lang[:40]!r} is not US-ASCII")
        try:
            text = raw[4 + lang_len :].decode("utf-8")
        except UnicodeDecodeError:
            raise IppParseError(f"{_tag_label(tag)}: text is not UTF-8") from None
        return StringWithLanguage(text, lang.decode("ascii"))
    if tag == _T_EXT:
        if n < 4 or raw[0] & 0x80:
            raise IppParseError("extension (0x7f) value must start with a 31-bit type code")
        return raw
    if 0x10 <= tag <= 0x7E:
        return raw  # unassigned tag: keep the value as is
    raise IppParseError(f"0x{tag:02x} is not a value tag")


def _decode_datetime(raw: bytes) -> _dt.datetime:
    if len(raw) != 11:
        raise IppParseError(f"dateTime value must be 11 octets, not {len(raw)}")
    year, month, day, hour, minute, second, deci, sign, tz_h, tz_m = _DATE.unpack(raw)
    if (
        not 1 <= month <= 12
        or not 1 <= day <= 31
        or hour > 23
        or minute > 59
        or second > 60
        or deci > 9
        or sign not in (b"+", b"-")
        or tz_h > 14
        or tz_m > 59
    ):
        raise IppParseError(f"dateTime value {raw.hex()} has a field out of range")
    offset = _dt.timedelta(hours=tz_h, minutes=tz_m)
    tz = _dt.UTC if not offset else _dt.timezone(offset if sign == b"+" else -offset)
    try:
        # RFC 2579 allows a leap second (60); datetime does not: it becomes :59.
        return _dt.datetime(
            year, month, day, hour, minute, min(second, 59), deci * 100_000, tzinfo=tz
        )
    except ValueError as exc:
        raise IppParseError(f"dateTime value {raw.hex()} is not a valid date: {exc}") from None


def _tag_label(tag: int) -> str:
    known = _VALUE_TAGS.get(tag)
    return known.keyword if known is not None else f"tag 0x{tag:02x}"


# The parser is a generator: it yields how many bytes it needs next and is sent exactly
# that many. The same parser thus serves whole buffers, pushed chunks and async readers.
# Every request but the first covers at least one byte, so work is bounded by input size.
_Parser = Generator[int, bytes, IppMessage]


def _parse_message(max_depth: int) -> _Parser:
    head = yield 9
    major, minor, code, request_id, tag = _HEAD.unpack(head)
    msg = IppMessage(version=(major, minor), code=code, request_id=request_id, groups=[])
    group: IppGroup | None = None
    attr: IppAttribute | None = None
    while tag != _T_END:
        if tag < 0x10:
            if tag == 0x00:
                raise IppParseError("reserved delimiter tag 0x00")
            group = IppGroup(_GROUP_TAGS.get(tag, tag))
            msg.groups.append(group)
            attr = None
            tag = (yield 1)[0]
            continue
        if tag >= 0x80:
            raise IppParseError(f"reserved tag 0x{tag:02x}")
        if group is None:
            raise IppParseError(f"value tag 0x{tag:02x} before any attribute group tag")
        if tag == _T_END_COLL or tag == _T_MEMBER:
            raise IppParseError(f"{_tag_label(tag)} outside a collection")
        buf = yield 2
        name_len = (buf[0] << 8) | buf[1]
        if name_len > _MAX_LENGTH:
            raise IppParseError(f"negative name-length 0x{name_len:04x}")
        buf = yield name_len + 2
        value_len = (buf[-2] << 8) | buf[-1]
        if value_len > _MAX_LENGTH:
            raise IppParseError(f"negative value-length 0x{value_len:04x}")
        if name_len:
            attr = IppAttribute(_decode_name(buf[:-2], "attribute name"), [])
            group.attributes.append(attr)
        elif attr is None:
            raise IppParseError("additional value (name-length 0) with no attribute before it")
        buf = yield value_len + 1
        next_tag = buf[-1]
        value: Any
        if tag == _T_BEG:
            if value_len:
                raise IppParseError("begCollection value-length must be 0")
            value, next_tag = yield from _parse_collection(next_tag, 1, max_depth, attr.name)
        else:
            value = _decode_plain(tag, buf[:-1])
        attr.values.append(IppValue(_VALUE_TAGS.get(tag, tag), value))
        tag = next_tag
    return msg


def _parse_collection(
    tag: int, depth: int, max_depth: int, where: str
) -> Generator[int, bytes, tuple[IppCollection, int]]:
    if depth > max_depth:
        raise IppParseError(f"{where}: collections nested deeper than {max_depth}")
    coll = IppCollection([])
    member: IppAttribute | None = None
    while True:
        if tag < 0x10:
            raise IppParseError(f"{where}: delimiter tag 0x{tag:02x} inside a collection")
        if tag >= 0x80:
            raise IppParseError(f"reserved tag 0x{tag:02x}")
        buf = yield 4
        name_len = (buf[0] << 8) | buf[1]
        value_len = (buf[2] << 8) | buf[3]
        if name_len:
            raise IppParseError(f"{where}: named attribute inside a collection")
        if value_len > _MAX_LENGTH:
            raise IppParseError(f"negative value-length 0x{value_len:04x}")
        buf = yield value_len + 1
        next_tag = buf[-1]
        if tag == _T_END_COLL:
            if value_len:
                raise IppParseError(f"{where}: endCollection value-length must be 0")
            if member is not None and not member.values:
                raise IppParseError(f"{where}/{member.name}: collection member has no value")
            return coll, next_tag
        if tag == _T_MEMBER:
            if member is not None and not member.values:
                raise IppParseError(f"{where}/{member.name}: collection member has no value")
            member = IppAttribute(_decode_name(buf[:-1], "member name"), [])
            coll.attributes.append(member)
        else:
            if member is None:
                raise IppParseError(f"{where}: collection value before any memberAttrName")
            value: Any
            if tag == _T_BEG:
                if value_len:
                    raise IppParseError("begCollection value-length must be 0")
                value, next_tag = yield from _parse_collection(
                    next_tag, depth + 1, max_depth, f"{where}/{member.name}"
                )
            else:
                value = _decode_plain(tag, buf[:-1])
            member.values.append(IppValue(_VALUE_TAGS.get(tag, tag), value))
        tag = next_tag


def _as_parse_error(exc: Exception, offset: int) -> IppParseError:
    if isinstance(exc, IppParseError):
        return exc.at(offset)
    err = IppParseError(f"malformed message ({type(exc).__name__}: {exc})", offset)
    err.__cause__ = exc
    return err


def decode(
    data: bytes | bytearray | memoryview, *, max_depth: int = MAX_COLLECTION_DEPTH
) -> tuple[IppMessage, int]:
    """Decode a whole message. Returns the message and the offset where the document
    data (whatever follows the end-of-attributes-tag) starts."""
    buf = bytes(data)
    size = len(buf)
    pos = 0
    parser = _parse_message(max_depth)
    try:
        need = next(parser)
        while True:
            end = pos + need
            if end > size:
                raise IppParseError(
                    f"truncated message: {need} more octets needed, {size - pos} left", size
                )
            chunk = buf[pos:end]
            pos = end
            need = parser.send(chunk)
    except StopIteration as stop:
        return stop.value, pos
    except IppParseError as exc:
        raise exc.at(pos) from None
    except Exception as exc:  # strictness: malformed input yields IppParseError only
        raise _as_parse_error(exc, pos) from exc
    finally:
        parser.close()


class IppStreamDecoder:
    """Push-style decoder: ``feed()`` chunks as they arrive; it returns the message once
    the end-of-attributes-tag has been read, after which ``rest`` holds the bytes fed
    beyond it (the start of the document data). ``feed_eof()`` raises if incomplete.
    """

    def __init__(
        self, *, max_size: int = DEFAULT_MAX_SIZE, max_depth: int = MAX_COLLECTION_DEPTH
    ) -> None:
        self.max_size = max_size
        self.message: IppMessage | None = None
        self.rest = b""
        self._parser = _parse_message(max_depth)
        self._need = next(self._parser)
        self._buf = bytearray()
        self._consumed = 0
        self._error: IppParseError | None = None

    @property
    def done(self) -> bool:
        return self.message is not None

    @property
    def consumed(self) -> int:
        """Bytes of attribute part parsed so far."""
        return self._consumed

    def feed(self, data: bytes | bytearray | memoryview) -> IppMessage | None:
        if self._error is not None:
            raise self._error
        if self.message is not None:
            self.rest += bytes(data)
            return self.message
        self._buf += data
        pos = 0
        try:
            while len(self._buf) - pos >= self._need:
                if self._consumed + self._need > self.max_size:
                    raise IppParseError(
                        f"attribute part larger than the {self.max_size}-octet limit"
                    )
                chunk = bytes(self._buf[pos : pos + self._need])
                pos += self._need
                self._consumed += self._need
                self._need = self._parser.send(chunk)
        except StopIteration as stop:
            self.message = stop.value
            self.rest = bytes(self._buf[pos:])
            self._buf = bytearray()
            return self.message
        except Exception as exc:
            self._error = _as_parse_error(exc, self._consumed)
            self._parser.close()
            raise self._error from None
        del self._buf[:pos]
        return None

    def feed_eof(self) -> IppMessage:
        """The input ended: return the message or raise IppParseError if incomplete."""
        if self._error is not None:
            raise self._error
        if self.message is None:
            self._error = IppParseError(
                f"truncated message: input ended {len(self._buf)} octets into a "
                f"{self._need}-octet field",
                self._consumed + len(self._buf),
            )
            self._parser.close()
            raise self._error
        return self.message


class AsyncReader(Protocol):
    """What ``decode_stream`` reads from (asyncio and aiohttp StreamReader fit)."""

    async def readexactly(self, n: int) -> bytes: ...


async def decode_stream(
    reader: AsyncReader,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_depth: int = MAX_COLLECTION_DEPTH,
) -> IppMessage:
    """Read exactly the attribute part of a message from ``reader``; whatever follows
    (the document data) is left unread in it. A stream that ends early raises
    IppParseError; transport errors from the reader propagate unchanged."""
    parser = _parse_message(max_depth)
    consumed = 0
    need = next(parser)
    try:
        while True:
            if consumed + need > max_size:
                raise IppParseError(
                    f"attribute part larger than the {max_size}-octet limit", consumed
                )
            try:
                chunk = await reader.readexactly(need)
            except asyncio.IncompleteReadError as exc:
                raise IppParseError(
                    f"truncated message: stream ended {len(exc.partial)} octets into a "
                    f"{need}-octet field",
                    consumed + len(exc.partial),
                ) from None
            consumed += need
            try:
                need = parser.send(chunk)
            except StopIteration as stop:
                msg: IppMessage = stop.value
                return msg
            except IppParseError as exc:
                raise exc.at(consumed) from None
            except Exception as exc:  # strictness: malformed input yields IppParseError only
                raise _as_parse_error(exc, consumed) from exc
    finally:
        parser.close()


async def decode_chunks(
    chunks: AsyncIterable[bytes],
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_depth: int = MAX_COLLECTION_DEPTH,
) -> tuple[IppMessage, AsyncIterator[bytes]]:
    """Decode the attribute part from an async iterable of chunks. Returns the message
    and an async iterator over the document data (the rest of the input, unbuffered)."""
    decoder = IppStreamDecoder(max_size=max_size, max_depth=max_depth)
    iterator = chunks.__aiter__()
    msg: IppMessage | None = None
    while msg is None:
        try:
            chunk = await iterator.__anext__()
        except StopAsyncIteration:
            msg = decoder.feed_eof()
            break
        msg = decoder.feed(chunk)

    async def document_data() -> AsyncIterator[bytes]:
        if decoder.rest:
            yield decoder.rest
        async for more in iterator:
            if more:
                yield more

    return msg, document_data()
