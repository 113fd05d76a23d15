"""The gateway's pure parts: attribute mapping, tickets, sessions, DNS-SD records, and
codec round trips (hypothesis) of the messages it builds and reads."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.attributes import (
    PrinterContext,
    QueueInfo,
    media_size,
    printer_attributes,
    select,
    ticket_from_request,
)
from gateway.dnssd import txt_record
from gateway.errors import status_for
from gateway.sessions import NotAuthenticated, Sessions
from ipp.codec import (
    IppAttribute,
    IppCollection,
    IppGroup,
    IppMessage,
    IppValue,
    RangeOfInteger,
    Resolution,
    StringWithLanguage,
    decode,
    encode,
)
from ipp.constants import GroupTag, StatusCode, ValueTag
from stanzas.errors import NotFetchable, NotPossible
from stanzas.groups import Capabilities, ServiceStatus

T = ValueTag

CTX = PrinterContext(
    uris=[("ipp://h:631/ipp/print/q", "none", "basic")],
    more_info="http://h:631/ipp/print/q",
    icons=["http://h:631/icons/q.png"],
    printer_uuid="urn:uuid:00000000-0000-4000-8000-000000000000",
    operations=[2, 4, 5, 6, 8, 9, 10, 11],
    up_time=1_700_000_000,
    config_change_time=1_699_000_000,
    state_change_time=1_699_000_000,
)


def _by_name(attrs: list[IppAttribute]) -> dict[str, IppAttribute]:
    return {a.name: a for a in attrs}


def test_device_capabilities_are_passed_through_faithfully() -> None:
    caps = Capabilities(
        printer_make_and_model="ACME LaserJet 9000",
        document_format_supported=["application/pdf", "image/pwg-raster"],
        media_supported=["iso_a4_210x297mm", "na_letter_8.5x11in"],
        media_default="na_letter_8.5x11in",
        sides_supported=["one-sided", "two-sided-long-edge"],
        print_color_mode_supported=["monochrome", "color"],
        print_quality_supported=[4, 5],
        finishings_supported=[3, 4, 5, 20],  # none, staple, punch, staple-top-left
        copies_supported=50,
    )
    attrs = _by_name(printer_attributes(QueueInfo("q", caps, ServiceStatus()), CTX))
    # A gateway that drops the device's finishings is the bug this guards against.
    assert attrs["finishings-supported"].all_values == [3, 4, 5, 20]
    assert attrs["finishings-supported"].tag == T.ENUM
    assert attrs["copies-supported"].value == RangeOfInteger(1, 50)
    assert attrs["sides-supported"].all_values == ["one-sided", "two-sided-long-edge"]
    assert attrs["media-default"].value == "na_letter_8.5x11in"
    assert attrs["color-supported"].value is True
    assert attrs["print-quality-supported"].all_values == [4, 5]
    assert attrs["printer-make-and-model"].value == "ACME LaserJet 9000"
    sizes = [c.first("media-size") for c in attrs["media-col-database"].all_values]
    assert [(s.first("x-dimension"), s.first("y-dimension")) for s in sizes] == [
        (21000, 29700),
        (21590, 27940),
    ]
    assert "pwg-raster-document-type-supported" in attrs
    assert "urf-supported" not in attrs
    # Everything encodes and survives a round trip.
    msg = IppMessage(
        code=0, request_id=1, groups=[IppGroup(GroupTag.PRINTER, list(attrs.values()))]
    )
    assert decode(encode(msg))[0] == msg


def test_state_and_description() -> None:
    info = QueueInfo(
        "q",
        Capabilities(),
        ServiceStatus(
            printer_state="stopped",
            printer_state_reasons=["media-empty-error"],
            printer_is_accepting_jobs=True,
        ),
        printer_info="Second floor",
        is_accepting_jobs=False,
        queued_job_count=3,
    )
    attrs = _by_name(printer_attributes(info, CTX))
    assert attrs["printer-state"].value == 5
    assert attrs["printer-state-reasons"].all_values == ["media-empty-error"]
    assert attrs["printer-is-accepting-jobs"].value is False
    assert attrs["queued-job-count"].value == 3
    assert attrs["printer-info"].value == "Second floor"


def test_requested_attribute_groups() -> None:
    attrs = printer_attributes(QueueInfo("q"), CTX)
    names = {a.name for a in select(attrs, None)}
    assert "media-col-database" not in names and "printer-name" in names
    assert {a.name for a in select(attrs, ["printer-uri-supported"])} == {"printer-uri-supported"}
    template = {a.name for a in select(attrs, ["job-template"])}
    assert "copies-supported" in template and "printer-name" not in template
    description = {a.name for a in select(attrs, ["printer-description"])}
    assert "printer-name" in description and "copies-supported" not in description
    assert "media-col-database" in {a.name for a in select(attrs, ["all", "media-col-database"])}


def test_media_names() -> None:
    assert media_size("iso_a4_210x297mm") == (21000, 29700)
    assert media_size("na_index-4x6_4x6in") == (10160, 15240)
    assert media_size("letter") == (21590, 27940)
    assert media_size("custom") is None


def test_ticket_from_job_template_attributes() -> None:
    caps = Capabilities(
        media_supported=["iso_a4_210x297mm"], copies_supported=5, finishings_supported=[3, 4]
    )
    group = IppGroup(GroupTag.JOB)
    group.add("copies", 2)
    group.add(
        "media-col",
        IppCollection.from_dict({"media-size": {"x-dimension": 21000, "y-dimension": 29700}}),
    )
    group.add("finishings", [4], T.ENUM)
    group.add("page-ranges", [RangeOfInteger(1, 3), RangeOfInteger(5, 5)])
    group.add("print-scaling", "fit")  # not carried: reported as unsupported
    group.add("sides", "two-sided-long-edge")  # the device cannot
    result = ticket_from_request(group, QueueInfo("q", caps))
    assert result.ticket.copies == 2
    assert result.ticket.media == "iso_a4_210x297mm"
    assert result.ticket.finishings == [4]
    assert result.ticket.page_ranges == "1-3,5"
    assert [a.name for a in result.unsupported] == ["print-scaling", "sides"]


def test_service_errors_map_to_ipp_statuses() -> None:
    assert status_for(NotPossible("x")) == StatusCode.CLIENT_ERROR_NOT_POSSIBLE
    assert status_for(NotFetchable("x")) == StatusCode.CLIENT_ERROR_NOT_POSSIBLE


def test_dnssd_txt_record() -> None:
    txt = txt_record(
        "office", formats=["application/pdf"], tls=True, color=True, printer_uuid="urn:uuid:1234"
    )
    assert txt["rp"] == "ipp/print/office" and txt["pdl"] == "application/pdf"
    assert txt["TLS"] == "1.2" and txt["Color"] == "T" and txt["UUID"] == "1234"


async def test_sessions_check_passwords_by_logging_in() -> None:
    logins: list[tuple[str, str]] = []

    class Client:
        stopped = False

        async def stop(self) -> None:
            self.stopped = True

    async def login(user: str, password: str) -> Client:
        logins.append((user, password))
        if password != "right":
            raise PermissionError(user)
        return Client()

    sessions = Sessions(login, failure_delay=0)  # type: ignore[arg-type]
    first = await sessions.get("alice@x", "right")
    assert await sessions.get("alice@x", "right") is first  # cached: one login
    with pytest.raises(NotAuthenticated):
        await sessions.get("alice@x", "wrong")
    assert sessions.cached("alice@x") is first  # a wrong password does not evict
    assert len(logins) == 2
    await sessions.close()
    assert first.stopped


# ------------------------------------------------------------------ codec round trips

_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_ascii = st.from_regex(r"[a-z0-9/._-]{1,30}", fullmatch=True)
_int32 = st.integers(-(2**31), 2**31 - 1)
_plain = st.one_of(
    st.builds(lambda v: IppValue(T.INTEGER, v), _int32),
    st.builds(lambda v: IppValue(T.ENUM, v), _int32),
    st.builds(lambda v: IppValue(T.BOOLEAN, v), st.booleans()),
    st.builds(lambda v: IppValue(T.OCTET_STRING, v), st.binary(max_size=40)),
    st.builds(lambda v: IppValue(T.TEXT, v), _text),
    st.builds(lambda v: IppValue(T.NAME, v), _text),
    st.builds(lambda v: IppValue(T.KEYWORD, v), _ascii),
    st.builds(lambda v: IppValue(T.URI, v), _ascii),
    st.builds(lambda v: IppValue(T.MIME_MEDIA_TYPE, v), _ascii),
    st.builds(
        lambda t, lang: IppValue(T.TEXT_WITH_LANGUAGE, StringWithLanguage(t, lang)), _text, _ascii
    ),
    st.builds(lambda a, b: IppValue(T.RANGE_OF_INTEGER, RangeOfInteger(a, b)), _int32, _int32),
    st.builds(lambda x, y: IppValue(T.RESOLUTION, Resolution(x, y, 3)), _int32, _int32),
    st.builds(
        lambda d: IppValue(T.DATE_TIME, d.replace(microsecond=d.microsecond // 100_000 * 100_000)),
        st.datetimes(
            min_value=dt.datetime(1970, 1, 1),
            max_value=dt.datetime(2100, 1, 1),
            timezones=st.just(dt.UTC),
        ),
    ),
    st.sampled_from([IppValue(t, None) for t in (0x10, 0x12, 0x13, 0x15, 0x16, 0x17)]),
)
_values = st.recursive(
    _plain,
    lambda inner: st.builds(
        lambda members: IppValue(
            T.BEG_COLLECTION,
            IppCollection([IppAttribute(n, vs) for n, vs in members]),
        ),
        st.lists(st.tuples(_names, st.lists(inner, min_size=1, max_size=3)), max_size=4),
    ),
    max_leaves=12,
)
_groups = st.lists(
    st.builds(
        lambda tag, attrs: IppGroup(tag, [IppAttribute(n, vs) for n, vs in attrs]),
        st.sampled_from([1, 2, 4, 5, 6, 7, 9]),
        st.lists(st.tuples(_names, st.lists(_values, min_size=1, max_size=3)), max_size=5),
    ),
    max_size=4,
)


@settings(max_examples=120, deadline=None)
@given(
    version=st.tuples(st.integers(0, 255), st.integers(0, 255)),
    code=st.integers(0, 0xFFFF),
    request_id=st.integers(1, 2**31 - 1),
    groups=_groups,
)
def test_codec_round_trips_any_message(
    version: tuple[int, int], code: int, request_id: int, groups: list[IppGroup]
) -> None:
    msg = IppMessage(version=version, code=code, request_id=request_id, groups=groups)
    data = encode(msg)
    decoded, offset = decode(data + b"document")
    assert decoded == msg and offset == len(data)
    assert encode(decoded) == data
