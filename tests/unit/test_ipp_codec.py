"""The IPP codec against hand-built RFC 8010 bytes, hypothesis round trips and fuzzing."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipp.codec import (
    MAX_COLLECTION_DEPTH,
    IppAttribute,
    IppCollection,
    IppEncodeError,
    IppGroup,
    IppMessage,
    IppParseError,
    IppRequest,
    IppStreamDecoder,
    IppValue,
    RangeOfInteger,
    Resolution,
    StringWithLanguage,
    decode,
    decode_chunks,
    decode_stream,
    encode,
    make_response,
    make_values,
)
from ipp.constants import (
    GroupTag,
    JobState,
    Operation,
    StatusCode,
    ValueTag,
    operation_name,
    status_name,
)

# ----------------------------------------------------------------------------- helpers
# Built by hand from RFC 8010 §3.1: value-tag, name-length, name, value-length, value.


def attr(tag: int, name: str, value: bytes) -> bytes:
    raw = name.encode()
    return bytes([tag]) + struct.pack(">h", len(raw)) + raw + struct.pack(">h", len(value)) + value


def more(tag: int, value: bytes) -> bytes:
    """An additional value (name-length 0)."""
    return attr(tag, "", value)


def header(code: int = 0x000B, request_id: int = 1, version: bytes = b"\x02\x00") -> bytes:
    return version + struct.pack(">hi", code, request_id)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


OP_GROUP = (
    b"\x01"
    + attr(0x47, "attributes-charset", b"utf-8")
    + attr(0x48, "attributes-natural-language", b"en")
)


# ----------------------------------------------------------------------------- literal bytes


def test_get_printer_attributes_request_literal() -> None:
    data = (
        header(0x000B, 42)
        + OP_GROUP
        + attr(0x45, "printer-uri", b"ipp://127.0.0.1:631/ipp/print")
        + attr(0x44, "requested-attributes", b"printer-state")
        + more(0x44, b"printer-state-reasons")
        + b"\x03"
        + b"%PDF-document-data"
    )
    msg, offset = decode(data)
    assert data[offset:] == b"%PDF-document-data"
    assert msg.version == (2, 0)
    assert msg.operation_id == Operation.GET_PRINTER_ATTRIBUTES
    assert msg.request_id == 42
    assert [g.tag for g in msg.groups] == [GroupTag.OPERATION]
    assert msg.first("attributes-charset") == "utf-8"
    assert msg.first("printer-uri") == "ipp://127.0.0.1:631/ipp/print"
    assert msg.values("requested-attributes") == ["printer-state", "printer-state-reasons"]
    assert msg.get("requested-attributes").tag == ValueTag.KEYWORD  # type: ignore[union-attr]
    assert encode(msg) == data[:offset]


def test_builder_produces_the_same_bytes() -> None:
    req = IppRequest(Operation.GET_PRINTER_ATTRIBUTES, 42).operation_attributes(
        printer_uri="ipp://127.0.0.1:631/ipp/print",
        requested_attributes=["printer-state", "printer-state-reasons"],
    )
    expected = (
        header(0x000B, 42)
        + OP_GROUP
        + attr(0x45, "printer-uri", b"ipp://127.0.0.1:631/ipp/print")
        + attr(0x44, "requested-attributes", b"printer-state")
        + more(0x44, b"printer-state-reasons")
        + b"\x03"
    )
    assert encode(req) == expected


EVERY_VALUE = [
    (0x21, "an-integer", i32(-1), -1),
    (0x22, "a-true", b"\x01", True),
    (0x22, "a-false", b"\x00", False),
    (0x23, "an-enum", i32(9), 9),
    (0x30, "an-octet-string", b"\x00\xffraw", b"\x00\xffraw"),
    (
        0x31,
        "a-date-time",
        bytes([0x07, 0xE6, 1, 2, 3, 4, 5, 6]) + b"+" + bytes([1, 30]),
        dt.datetime(
            2022, 1, 2, 3, 4, 5, 600_000, tzinfo=dt.timezone(dt.timedelta(hours=1, minutes=30))
        ),
    ),
    (
        0x31,
        "a-west-date-time",
        bytes([0x07, 0xE6, 12, 31, 23, 59, 59, 0]) + b"-" + bytes([5, 0]),
        dt.datetime(2022, 12, 31, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
    ),
    (0x32, "a-resolution", i32(600) + i32(300) + b"\x03", Resolution(600, 300, 3)),
    (0x33, "a-range", i32(1) + i32(999), RangeOfInteger(1, 999)),
    (0x35, "a-text-with-language", b"\x00\x02en\x00\x05hello", StringWithLanguage("hello", "en")),
    (
        0x36,
        "a-name-with-language",
        b"\x00\x05fr-CA\x00\x06\xc3\xa9t\xc3\xa9!",
        StringWithLanguage("été!", "fr-CA"),
    ),
    (0x41, "a-text", "Grüße".encode(), "Grüße"),
    (0x42, "a-name", b"Ann's job", "Ann's job"),
    (0x44, "a-keyword", b"one-sided", "one-sided"),
    (0x45, "a-uri", b"ipps://printer.example/ipp/print", "ipps://printer.example/ipp/print"),
    (0x46, "a-uri-scheme", b"ipps", "ipps"),
    (0x47, "a-charset", b"utf-8", "utf-8"),
    (0x48, "a-natural-language", b"en-us", "en-us"),
    (0x49, "a-mime-media-type", b"application/pdf", "application/pdf"),
    (0x10, "an-unsupported", b"", None),
    (0x12, "an-unknown", b"", None),
    (0x13, "a-no-value", b"", None),
    (0x15, "a-not-settable", b"", None),
    (0x16, "a-delete-attribute", b"", None),
    (0x17, "an-admin-define", b"", None),
    (0x5F, "an-unassigned-tag", b"kept as is", b"kept as is"),
    (0x7F, "an-extension", b"\x00\x00\x01\x00payload", b"\x00\x00\x01\x00payload"),
]


@pytest.mark.parametrize(
    ("tag", "name", "raw", "value"), EVERY_VALUE, ids=[v[1] for v in EVERY_VALUE]
)
def test_every_value_tag_literal(tag: int, name: str, raw: bytes, value: object) -> None:
    data = header(0x0000, 7) + OP_GROUP + b"\x04" + attr(tag, name, raw) + b"\x03"
    msg, offset = decode(data)
    assert offset == len(data)
    got = msg.get(name, group=GroupTag.PRINTER)
    assert got is not None
    assert int(got.tag) == tag
    assert got.value == value
    assert type(got.value) is type(value)
    assert encode(msg) == data


def test_out_of_band_values_read_as_missing() -> None:
    data = header(0) + OP_GROUP + b"\x02" + attr(0x13, "job-name", b"") + b"\x03"
    msg, _ = decode(data)
    assert msg.first("job-name", "default") == "default"
    assert msg.values("job-name") == []
    assert msg.get("job-name").is_out_of_band  # type: ignore[union-attr]


def media_col_bytes(name: str = "media-col") -> bytes:
    """RFC 8010 §3.1.6: media-col = {media-size = {x-dimension, y-dimension}, media-type}."""
    return (
        attr(0x34, name, b"")
        + more(0x4A, b"media-size")
        + more(0x34, b"")
        + more(0x4A, b"x-dimension")
        + more(0x21, i32(21000))
        + more(0x4A, b"y-dimension")
        + more(0x21, i32(29700))
        + more(0x37, b"")
        + more(0x4A, b"media-type")
        + more(0x44, b"stationery")
        + more(0x44, b"bond")  # a 1setOf member
        + more(0x37, b"")
    )


def test_nested_collection_literal() -> None:
    data = header(0x0005) + OP_GROUP + b"\x02" + media_col_bytes() + b"\x03"
    msg, offset = decode(data)
    assert offset == len(data)
    col = msg.first("media-col")
    assert isinstance(col, IppCollection)
    assert col.names() == ["media-size", "media-type"]
    size = col.first("media-size")
    assert isinstance(size, IppCollection)
    assert size.first("x-dimension") == 21000 and size.first("y-dimension") == 29700
    assert col.values("media-type") == ["stationery", "bond"]
    assert msg.group(GroupTag.JOB).to_dict() == {  # type: ignore[union-attr]
        "media-col": {
            "media-size": {"x-dimension": 21000, "y-dimension": 29700},
            "media-type": ["stationery", "bond"],
        }
    }
    assert encode(msg) == data


def test_collection_from_dict_encodes_like_the_literal() -> None:
    req = IppMessage(code=0x0005, request_id=1)
    req.groups.append(decode(header() + OP_GROUP + b"\x03")[0].groups[0])
    job = req.add_group(GroupTag.JOB)
    job.add(
        "media-col",
        {
            "media-size": {"x-dimension": 21000, "y-dimension": 29700},
            "media-type": ["stationery", "bond"],
        },
    )
    assert encode(req) == header(0x0005) + OP_GROUP + b"\x02" + media_col_bytes() + b"\x03"


def test_1setof_collection_and_empty_collection() -> None:
    data = (
        header(0)
        + OP_GROUP
        + b"\x04"
        + attr(0x34, "media-col-database", b"")
        + more(0x4A, b"media-key")
        + more(0x44, b"a4")
        + more(0x37, b"")
        + more(0x34, b"")  # second value of the 1setOf
        + more(0x4A, b"media-key")
        + more(0x44, b"letter")
        + more(0x37, b"")
        + attr(0x34, "empty-col", b"")
        + more(0x37, b"")
        + b"\x03"
    )
    msg, _ = decode(data)
    values = msg.values("media-col-database")
    assert [v.first("media-key") for v in values] == ["a4", "letter"]
    assert msg.first("empty-col") == IppCollection([])
    assert encode(msg) == data


def test_every_delimiter_tag() -> None:
    tags = [0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x02]
    body = b"".join(bytes([t]) + attr(0x21, f"attr-{i}", i32(i)) for i, t in enumerate(tags))
    data = header(0) + body + b"\x04" + b"\x03"  # a trailing empty printer group too
    msg, _ = decode(data)
    assert [int(g.tag) for g in msg.groups] == [*tags, 0x04]
    assert msg.groups[-1].attributes == []
    assert len(msg.groups_of(GroupTag.JOB)) == 2
    assert msg.groups[3].tag is GroupTag.UNSUPPORTED
    assert msg.groups[8].tag is GroupTag.SYSTEM
    assert msg.first("attr-5", group=GroupTag.EVENT_NOTIFICATION) == 5
    assert msg.first("attr-5", group=GroupTag.JOB) is None
    assert encode(msg) == data


def test_future_delimiter_tag_is_kept() -> None:
    data = header(0) + b"\x0b" + attr(0x21, "x", i32(1)) + b"\x03"
    msg, _ = decode(data)
    assert msg.groups[0].tag == 0x0B
    assert encode(msg) == data


def test_response_helpers() -> None:
    data = header(0x0406, 9) + OP_GROUP + attr(0x41, "status-message", b"No such job") + b"\x03"
    msg, _ = decode(data)
    assert msg.status_code == StatusCode.CLIENT_ERROR_NOT_FOUND
    assert msg.status_name == "client-error-not-found"
    assert not msg.is_successful
    assert msg.status_message == "No such job"
    resp = make_response(msg, StatusCode.SUCCESSFUL_OK, status_message="fine")
    assert resp.request_id == 9 and resp.is_successful and resp.status_message == "fine"
    assert "status-message" in msg.describe()


def test_constants_names() -> None:
    assert Operation.GET_PRINTER_ATTRIBUTES.keyword == "Get-Printer-Attributes"
    assert Operation.PRINT_URI.keyword == "Print-URI"
    assert operation_name(0x7777) == "0x7777"
    assert status_name(0x0507) == "server-error-busy"
    assert status_name(0x04FF) == "client-error-0x04ff"
    assert StatusCode.from_keyword("client-error-not-possible") == 0x0404
    assert JobState(6).keyword == "processing-stopped"
    assert JobState.from_keyword("completed").is_terminal


def test_make_values_inference() -> None:
    assert make_values("copies", 2) == [IppValue(ValueTag.INTEGER, 2)]
    assert make_values("print-quality", 5) == [IppValue(ValueTag.ENUM, 5)]
    assert make_values("job-name", "x") == [IppValue(ValueTag.NAME, "x")]
    assert make_values("some-vendor-thing", "x") == [IppValue(ValueTag.KEYWORD, "x")]
    assert make_values("job-name", None) == [IppValue(ValueTag.NO_VALUE, None)]
    assert make_values("x", [True, False]) == [
        IppValue(ValueTag.BOOLEAN, True),
        IppValue(ValueTag.BOOLEAN, False),
    ]
    assert make_values("x", "y", ValueTag.TEXT) == [IppValue(ValueTag.TEXT, "y")]
    assert make_values("job-name", StringWithLanguage("n", "en"))[0].tag == (
        ValueTag.NAME_WITH_LANGUAGE
    )
    with pytest.raises(IppEncodeError):
        make_values("x", [])
    with pytest.raises(IppEncodeError):
        make_values("x", object())


def test_request_builder_groups_and_none() -> None:
    req = (
        IppRequest(Operation.CREATE_JOB, 3)
        .operation_attributes(printer_uri="ipp://h/ipp/print", job_name=None)
        .job_attributes({"copies": 2})
        .job_attributes(media="iso_a4_210x297mm")
    )
    assert req.operation.names() == [  # type: ignore[union-attr]
        "attributes-charset",
        "attributes-natural-language",
        "printer-uri",
    ]
    assert len(req.groups_of(GroupTag.JOB)) == 1
    assert req.group(GroupTag.JOB).to_dict() == {  # type: ignore[union-attr]
        "copies": 2,
        "media": "iso_a4_210x297mm",
    }
    decoded, _ = decode(encode(req))
    assert decoded.groups == req.groups


@pytest.mark.parametrize(
    "bad",
    [
        IppValue(ValueTag.INTEGER, 2**31),
        IppValue(ValueTag.INTEGER, True),
        IppValue(ValueTag.BOOLEAN, 1),
        IppValue(ValueTag.KEYWORD, "naïve"),
        IppValue(ValueTag.TEXT, "x" * 40000),
        IppValue(ValueTag.NO_VALUE, "something"),
        IppValue(ValueTag.RESOLUTION, (300, 300)),
        IppValue(
            ValueTag.DATE_TIME,
            dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30))),
        ),
        IppValue(ValueTag.END_COLLECTION, None),
        IppValue(ValueTag.MEMBER_ATTR_NAME, "x"),
        IppValue(ValueTag.BEG_COLLECTION, {"not": "a collection"}),
        IppValue(0x7F, b"\x80\x00\x00\x00"),
        IppValue(0x80, b""),
        IppValue(0x5F, "not bytes"),
    ],
)
def test_encode_rejects_bad_values(bad: IppValue) -> None:
    msg = IppMessage(groups=[IppGroup(GroupTag.OPERATION, [IppAttribute("a", [bad])])])
    with pytest.raises(IppEncodeError):
        encode(msg)


def test_encode_rejects_bad_structure() -> None:
    for msg in (
        IppMessage(groups=[IppGroup(GroupTag.END)]),
        IppMessage(groups=[IppGroup(0)]),
        IppMessage(groups=[IppGroup(1, [IppAttribute("", [IppValue(0x21, 1)])])]),
        IppMessage(groups=[IppGroup(1, [IppAttribute("a", [])])]),
        IppMessage(
            groups=[
                IppGroup(
                    1, [IppAttribute("a", [IppValue(0x34, IppCollection([IppAttribute("m", [])]))])]
                )
            ]
        ),
        IppMessage(code=0x10000),
        IppMessage(request_id=2**31),
        IppMessage(version=(256, 0)),
    ):
        with pytest.raises(IppEncodeError):
            encode(msg)


def nested(depth: int) -> bytes:
    inner = more(0x4A, b"leaf") + more(0x21, i32(1))
    for _ in range(depth - 1):
        inner = more(0x4A, b"m") + more(0x34, b"") + inner + more(0x37, b"")
    return attr(0x34, "deep", b"") + inner + more(0x37, b"")


def test_depth_limit() -> None:
    ok = header(0) + b"\x01" + nested(MAX_COLLECTION_DEPTH) + b"\x03"
    msg, _ = decode(ok)
    assert encode(msg) == ok
    with pytest.raises(IppParseError, match="nested deeper"):
        decode(header(0) + b"\x01" + nested(MAX_COLLECTION_DEPTH + 1) + b"\x03")


# ----------------------------------------------------------------------------- malformed

MALFORMED = {
    "empty": b"",
    "short header": b"\x02\x00\x00\x0b\x00",
    "no end tag": header() + OP_GROUP,
    "truncated value": header() + b"\x01" + attr(0x44, "a", b"abc")[:-1],
    "reserved delimiter 0x00": header() + b"\x00\x03",
    "value before group": header() + attr(0x21, "a", i32(1)) + b"\x03",
    "additional value first": header() + b"\x01" + more(0x21, i32(1)) + b"\x03",
    "additional value after group tag": header()
    + b"\x01"
    + attr(0x21, "a", i32(1))
    + b"\x02"
    + more(0x21, i32(2))
    + b"\x03",
    "integer of 3 octets": header() + b"\x01" + attr(0x21, "a", b"\x00\x00\x01") + b"\x03",
    "boolean 2": header() + b"\x01" + attr(0x22, "a", b"\x02") + b"\x03",
    "out-of-band with value": header() + b"\x01" + attr(0x13, "a", b"x") + b"\x03",
    "reserved tag 0x80": header() + b"\x01" + attr(0x80, "a", b"") + b"\x03",
    "negative name-length": header() + b"\x01\x44\xff\xff" + b"\x03",
    "negative value-length": header() + b"\x01\x44\x00\x01a\x80\x00" + b"\x03",
    "name not ascii": header() + b"\x01" + attr(0x44, "é", b"x") + b"\x03",
    "name with space": header() + b"\x01" + attr(0x44, "a b", b"x") + b"\x03",
    "keyword not ascii": header() + b"\x01" + attr(0x44, "a", "é".encode()) + b"\x03",
    "text not utf-8": header() + b"\x01" + attr(0x41, "a", b"\xff\xfe") + b"\x03",
    "textWithLanguage lengths": header()
    + b"\x01"
    + attr(0x35, "a", b"\x00\x02en\x00\x09hi")
    + b"\x03",
    "textWithLanguage short": header() + b"\x01" + attr(0x35, "a", b"\x00") + b"\x03",
    "dateTime month 13": header()
    + b"\x01"
    + attr(0x31, "a", bytes([7, 0xE6, 13, 1, 0, 0, 0, 0]) + b"+\x00\x00")
    + b"\x03",
    "dateTime Feb 30": header()
    + b"\x01"
    + attr(0x31, "a", bytes([7, 0xE6, 2, 30, 0, 0, 0, 0]) + b"+\x00\x00")
    + b"\x03",
    "dateTime bad direction": header()
    + b"\x01"
    + attr(0x31, "a", bytes([7, 0xE6, 2, 3, 0, 0, 0, 0]) + b"*\x00\x00")
    + b"\x03",
    "resolution 8 octets": header() + b"\x01" + attr(0x32, "a", b"\x00" * 8) + b"\x03",
    "range 9 octets": header() + b"\x01" + attr(0x33, "a", b"\x00" * 9) + b"\x03",
    "extension too short": header() + b"\x01" + attr(0x7F, "a", b"\x00\x00") + b"\x03",
    "begCollection with value": header()
    + b"\x01"
    + attr(0x34, "a", b"x")
    + more(0x37, b"")
    + b"\x03",
    "endCollection outside": header() + b"\x01" + attr(0x37, "a", b"") + b"\x03",
    "memberAttrName outside": header() + b"\x01" + attr(0x4A, "a", b"m") + b"\x03",
    "member without value": header()
    + b"\x01"
    + attr(0x34, "a", b"")
    + more(0x4A, b"m")
    + more(0x37, b"")
    + b"\x03",
    "value before member name": header()
    + b"\x01"
    + attr(0x34, "a", b"")
    + more(0x21, i32(1))
    + more(0x37, b"")
    + b"\x03",
    "named attribute in collection": header()
    + b"\x01"
    + attr(0x34, "a", b"")
    + attr(0x4A, "x", b"m")
    + more(0x37, b"")
    + b"\x03",
    "delimiter inside collection": header()
    + b"\x01"
    + attr(0x34, "a", b"")
    + more(0x4A, b"m")
    + more(0x21, i32(1))
    + b"\x03",
    "endCollection with value": header()
    + b"\x01"
    + attr(0x34, "a", b"")
    + more(0x37, b"x")
    + b"\x03",
    "empty member name": header()
    + b"\x01"
    + attr(0x34, "a", b"")
    + more(0x4A, b"")
    + more(0x21, i32(1))
    + more(0x37, b"")
    + b"\x03",
    "unclosed collection": header() + b"\x01" + attr(0x34, "a", b"") + more(0x4A, b"m"),
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_raises_ipp_parse_error(data: bytes) -> None:
    with pytest.raises(IppParseError) as info:
        decode(data)
    assert info.value.offset is not None and 0 <= info.value.offset <= len(data)
    decoder = IppStreamDecoder()
    with pytest.raises(IppParseError):
        for byte in data:
            decoder.feed(bytes([byte]))
        decoder.feed_eof()


def test_error_message_is_clear() -> None:
    with pytest.raises(IppParseError, match=r"boolean value must be one octet .*\(at byte \d+\)"):
        decode(MALFORMED["boolean 2"])


def test_leap_second_is_accepted() -> None:
    raw = bytes([7, 0xE6, 6, 30, 23, 59, 60, 0]) + b"+\x00\x00"
    msg, _ = decode(header() + b"\x01" + attr(0x31, "a", raw) + b"\x03")
    assert msg.first("a") == dt.datetime(2022, 6, 30, 23, 59, 59, tzinfo=dt.UTC)


# ----------------------------------------------------------------------------- streaming

SAMPLE = header(0x0006, 5) + OP_GROUP + b"\x02" + media_col_bytes() + b"\x03"


def test_stream_decoder_byte_by_byte() -> None:
    decoder = IppStreamDecoder()
    stream = SAMPLE + b"DOC"
    result = None
    for i, byte in enumerate(stream):
        result = decoder.feed(bytes([byte]))
        if result is not None:
            assert i == len(SAMPLE) - 1
            break
    assert result == decode(SAMPLE)[0]
    assert decoder.rest == b""
    decoder.feed(b"DOC")
    assert decoder.rest == b"DOC"
    assert decoder.feed_eof() is result


def test_stream_decoder_one_chunk_with_data() -> None:
    decoder = IppStreamDecoder()
    assert decoder.feed(SAMPLE + b"DOCUMENT") is not None
    assert decoder.rest == b"DOCUMENT"
    assert decoder.consumed == len(SAMPLE)


def test_stream_decoder_size_limit() -> None:
    decoder = IppStreamDecoder(max_size=50)
    with pytest.raises(IppParseError, match="limit"):
        decoder.feed(SAMPLE)
    with pytest.raises(IppParseError):
        decoder.feed(b"more")


async def test_decode_stream_leaves_document_data() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(SAMPLE + b"DOCUMENT-")
    reader.feed_data(b"DATA")
    reader.feed_eof()
    msg = await decode_stream(reader)
    assert msg == decode(SAMPLE)[0]
    assert await reader.read() == b"DOCUMENT-DATA"


async def test_decode_stream_truncated_and_limit() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(SAMPLE[:-5])
    reader.feed_eof()
    with pytest.raises(IppParseError, match="truncated"):
        await decode_stream(reader)
    reader = asyncio.StreamReader()
    reader.feed_data(SAMPLE)
    reader.feed_eof()
    with pytest.raises(IppParseError, match="limit"):
        await decode_stream(reader, max_size=40)
    reader = asyncio.StreamReader()
    reader.feed_data(MALFORMED["boolean 2"])
    reader.feed_eof()
    with pytest.raises(IppParseError, match="boolean"):
        await decode_stream(reader)


async def test_decode_chunks() -> None:
    async def chunks() -> object:
        for i in range(0, len(SAMPLE) + 20, 7):
            yield (SAMPLE + b"0123456789abcdefghij")[i : i + 7]

    msg, rest = await decode_chunks(chunks())  # type: ignore[arg-type]
    assert msg == decode(SAMPLE)[0]
    assert b"".join([c async for c in rest]) == b"0123456789abcdefghij"

    async def short() -> object:
        yield SAMPLE[:10]

    with pytest.raises(IppParseError):
        await decode_chunks(short())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- hypothesis

ascii_text = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=40)
names = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30)
int32 = st.integers(-(2**31), 2**31 - 1)
tz = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
date_times = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=tz
).map(lambda d: d.replace(microsecond=d.microsecond // 100_000 * 100_000))

plain_values = st.one_of(
    st.tuples(st.sampled_from([ValueTag.INTEGER, ValueTag.ENUM]), int32),
    st.tuples(st.just(ValueTag.BOOLEAN), st.booleans()),
    st.tuples(st.just(ValueTag.OCTET_STRING), st.binary(max_size=40)),
    st.tuples(st.just(ValueTag.DATE_TIME), date_times),
    st.tuples(
        st.just(ValueTag.RESOLUTION), st.builds(Resolution, int32, int32, st.integers(-128, 127))
    ),
    st.tuples(st.just(ValueTag.RANGE_OF_INTEGER), st.builds(RangeOfInteger, int32, int32)),
    st.tuples(
        st.sampled_from([ValueTag.TEXT_WITH_LANGUAGE, ValueTag.NAME_WITH_LANGUAGE]),
        st.builds(StringWithLanguage, st.text(max_size=30), ascii_text),
    ),
    st.tuples(st.sampled_from([ValueTag.TEXT, ValueTag.NAME]), st.text(max_size=40)),
    st.tuples(
        st.sampled_from(
            [
                ValueTag.KEYWORD,
                ValueTag.URI,
                ValueTag.URI_SCHEME,
                ValueTag.CHARSET,
                ValueTag.NATURAL_LANGUAGE,
                ValueTag.MIME_MEDIA_TYPE,
            ]
        ),
        ascii_text,
    ),
    st.tuples(st.sampled_from([0x10, 0x12, 0x13, 0x15, 0x16, 0x17]), st.none()),
    st.tuples(st.sampled_from([0x11, 0x20, 0x38, 0x40, 0x4B, 0x60]), st.binary(max_size=10)),
).map(lambda tv: IppValue(*tv))


def attributes_of(values: st.SearchStrategy[IppValue]) -> st.SearchStrategy[IppAttribute]:
    return st.builds(IppAttribute, names, st.lists(values, min_size=1, max_size=3))


ipp_values = st.recursive(
    plain_values,
    lambda inner: st.builds(
        lambda members: IppValue(ValueTag.BEG_COLLECTION, IppCollection(members)),
        st.lists(attributes_of(inner), max_size=3),
    ),
    max_leaves=12,
)
groups = st.builds(
    IppGroup,
    st.sampled_from([1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 15]),
    st.lists(attributes_of(ipp_values), max_size=5),
)
messages = st.builds(
    IppMessage,
    st.tuples(st.integers(0, 255), st.integers(0, 255)),
    st.integers(0, 0xFFFF),
    int32,
    st.lists(groups, max_size=4),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages, st.binary(max_size=20))
def test_round_trip(msg: IppMessage, document: bytes) -> None:
    data = encode(msg)
    decoded, offset = decode(data + document)
    assert offset == len(data)
    assert decoded == msg
    assert encode(decoded) == data
    decoder = IppStreamDecoder()
    for i in range(0, len(data) + len(document), 13):
        decoder.feed((data + document)[i : i + 13])
    assert decoder.feed_eof() == msg
    assert decoder.rest == document


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_raise_parse_error(data: bytes) -> None:
    for candidate in (data, header() + data, header() + b"\x01" + data):
        try:
            msg, offset = decode(candidate)
        except IppParseError:
            continue
        assert 8 < offset <= len(candidate)
        assert decode(encode(msg))[0] == msg


def rich_messages() -> list[bytes]:
    req = (
        IppRequest(Operation.PRINT_JOB, 77)
        .operation_attributes(
            printer_uri="ipp://127.0.0.1/ipp/print",
            requesting_user_name="fuzz",
            job_name=StringWithLanguage("Fuzzing", "en"),
            document_format="application/pdf",
        )
        .job_attributes(
            copies=3,
            sides="two-sided-long-edge",
            print_quality=5,
            media_col={
                "media-size": {"x-dimension": 21000, "y-dimension": 29700},
                "media-source": "tray-1",
            },
            page_ranges=[RangeOfInteger(1, 3), RangeOfInteger(5, 9)],
            printer_resolution=Resolution(600, 600),
            finishings=[3, 4],
        )
    )
    resp = make_response(req, 0, status_message="ok")
    job = resp.add_group(GroupTag.JOB)
    job.add("date-time-at-creation", dt.datetime(2024, 5, 6, tzinfo=dt.UTC))
    resp.add_group(GroupTag.UNSUPPORTED).add("x", None, ValueTag.UNSUPPORTED)
    return [encode(req) + b"%PDF-1.7", encode(resp), SAMPLE, MALFORMED["boolean 2"]]


def mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1 and buf:
            buf[min(pos, len(buf) - 1)] = rng.choice(
                [0x00, 0x03, 0x34, 0x37, 0x4A, 0x7F, 0x80, 0xFF]
            )
        elif op == 2:
            del buf[pos:]
        elif op == 3:
            end = min(len(buf), pos + rng.randint(1, 12))
            buf[pos:pos] = buf[pos:end]
        elif op == 4:
            del buf[pos : pos + rng.randint(1, 8)]
        elif op == 5:
            buf[pos:pos] = rng.randbytes(rng.randint(1, 8))
        elif len(buf) >= pos + 2:
            buf[pos : pos + 2] = struct.pack(
                ">H", rng.choice([0, 1, 0x7FFF, 0x8000, 0xFFFF, rng.randrange(65536)])
            )
    return bytes(buf)


def test_thousands_of_mutated_messages_only_raise_parse_error() -> None:
    rng = random.Random(8010)
    seeds = rich_messages()
    parsed = failed = 0
    for _ in range(5000):
        data = mutate(rng, rng.choice(seeds))
        try:
            msg, _ = decode(data)
        except IppParseError:
            failed += 1
            outcome: object = "error"
        else:
            parsed += 1
            outcome = msg
            assert decode(encode(msg))[0] == msg
        # the push decoder, fed in random pieces, agrees with the whole-buffer decoder
        decoder = IppStreamDecoder()
        try:
            pos = 0
            while pos < len(data):
                step = rng.randint(1, 64)
                decoder.feed(data[pos : pos + step])
                pos += step
            streamed: object = decoder.feed_eof()
        except IppParseError:
            streamed = "error"
        assert streamed == outcome
    assert failed > 1000 and parsed > 100  # the mutations explore both sides


def test_names_a_peer_makes_up_cannot_fill_the_name_cache() -> None:
    """The decoder keeps the attribute names it decoded; 4096 distinct 30 KB names used
    to stay in memory for good (about 250 MB, keys and values)."""
    from ipp import codec

    codec._NAME_CACHE.clear()
    for number in range(5000):
        name = (b"x%05d" % number) * 5000  # 30,000 printable octets
        msg = (
            b"\x02\x00\x00\x0b\x00\x00\x00\x01\x01"
            + b"\x44"
            + len(name).to_bytes(2, "big")
            + name
            + b"\x00\x01v\x03"
        )
        decode(msg)
    held = sum(len(k) + len(v) for k, v in codec._NAME_CACHE.items())
    assert held < 1024 * 1024
