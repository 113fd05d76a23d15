"""The service's own presence (server/admin/presence.py), as the component writes it: it
approves the subscriptions of operators and administrators and refuses everyone else's,
answers probes, sends its status line when it comes online and when the line changes,
and 'unavailable' to someone who unsubscribes or when it stops."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.handlers.conftest import DEVICE, create_job, register
from tests.handlers.stream import ACCEPT, ADMIN, ALICE, MGR1, OPERATOR, SERVICE, Stream

PRESENCE = f"{{{ACCEPT}}}presence"


def presence(kind: str, sender: str) -> str:
    return f"<presence type='{kind}' from='{sender}' to='{SERVICE}'/>"


def seen(out: list[ET.Element]) -> list[tuple[str, str, str | None]]:
    """(to, type, status) of each presence the service wrote."""
    found = []
    for stanza in out:
        if stanza.tag == PRESENCE:
            assert stanza.get("from") == SERVICE, stanza.attrib
            status = stanza.find(f"{{{ACCEPT}}}status")
            kind = stanza.get("type", "available")
            found.append((stanza.get("to", ""), kind, None if status is None else status.text))
    return found


def plugin(stream: Stream):  # type: ignore[no-untyped-def]
    return stream.app.admin.presence


async def test_an_operator_is_approved_and_sees_the_status_line(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    out = await stream.feed(presence("subscribe", OPERATOR))
    assert seen(out) == [
        ("operator@localhost", "subscribed", None),
        ("operator@localhost", "available", "1 queue, 0 jobs active"),
    ]
    assert await stream.ctx.presence_subscribers.all() == ["operator@localhost"]
    # Their server probes when they log in again: the same presence.
    out = await stream.feed(presence("probe", OPERATOR))
    assert seen(out) == [("operator@localhost", "available", "1 queue, 0 jobs active")]


async def test_anyone_else_is_refused_and_told_nothing(stream: Stream) -> None:
    for kind in ("subscribe", "probe"):
        out = await stream.feed(presence(kind, ALICE))
        assert seen(out) == [("alice@localhost", "unsubscribed", None)]
    assert await stream.ctx.presence_subscribers.all() == []


async def test_the_status_line_follows_jobs_and_reaches_every_subscriber(stream: Stream) -> None:
    await register(stream, MGR1, DEVICE, "office")
    await stream.feed(presence("subscribe", OPERATOR) + presence("subscribe", ADMIN))
    job = await create_job(stream, ALICE, "office")
    assert plugin(stream)._settle is not None  # a look is due, a second from now
    mark = stream.mark()
    await plugin(stream).refresh()
    assert seen(await stream.since(mark)) == [
        ("admin@localhost", "available", "1 queue, 1 job active"),
        ("operator@localhost", "available", "1 queue, 1 job active"),
    ]
    mark = stream.mark()
    await plugin(stream).refresh()  # nothing changed: nothing sent
    assert seen(await stream.since(mark)) == []
    assert job


async def test_unsubscribing_ends_it_and_stopping_says_unavailable(stream: Stream) -> None:
    await stream.feed(presence("subscribe", OPERATOR) + presence("subscribe", ADMIN))
    out = await stream.feed(presence("unsubscribe", OPERATOR))
    assert seen(out) == [("operator@localhost", "unavailable", None)]
    assert await stream.ctx.presence_subscribers.all() == ["admin@localhost"]
    mark = stream.mark()
    plugin(stream).going_offline()
    assert seen(await stream.since(mark)) == [("admin@localhost", "unavailable", None)]


async def test_coming_online_tells_the_subscribers_and_drops_who_lost_the_role(
    stream: Stream,
) -> None:
    await stream.feed(presence("subscribe", ADMIN))
    await stream.ctx.presence_subscribers.add("bob@localhost", 1)  # no longer an operator
    mark = stream.mark()
    stream.component.event("session_start")  # the component is back (a reconnect)
    assert seen(await stream.since(mark)) == [
        ("bob@localhost", "unsubscribed", None),
        ("admin@localhost", "available", "0 queues, 0 jobs active"),
    ]
    assert await stream.ctx.presence_subscribers.all() == ["admin@localhost"]
