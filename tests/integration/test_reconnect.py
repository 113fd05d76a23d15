"""After an XMPP server outage, clients, managers and the service's component are back
within a second or two of the server's return (slixmpp's own back-off took ~12 s), and
a client sees it happen."""

from __future__ import annotations

import asyncio
import time

from cirrus.client import ConnectionEvent
from manager.drivers.sim import SimDriver
from stanzas.states import JobState
from tests.conftest import Harness
from tests.integration.test_print_flow import SAMPLE, WAIT

OUTAGE = 4.0  # seconds the server is away: slixmpp would next try at 3, then 12 s
BACK_WITHIN = 3.0  # seconds after the server's return (back-off cap 2 s, plus a login)


async def test_clients_and_managers_are_back_soon_after_the_server_returns(
    service, harness: Harness
) -> None:
    manager = await harness.manager(SimDriver())
    alice = await harness.client("alice")
    events: list[ConnectionEvent] = []
    online_again = asyncio.Event()

    async def follow() -> None:
        async for event in alice.connection_events():
            events.append(event)
            if event.online:
                online_again.set()
                return

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)  # the follower listens before the outage starts
    await harness.prosody.stop()
    assert not alice.online
    await asyncio.sleep(OUTAGE)  # the outage itself: nothing to wait for
    await harness.prosody._start()
    back = time.monotonic()
    assert service.component is not None
    await asyncio.wait_for(online_again.wait(), 30)
    await asyncio.wait_for(manager.session.online.wait(), 30)
    await asyncio.wait_for(service.component.online.wait(), 30)
    assert time.monotonic() - back < BACK_WITHIN, time.monotonic() - back
    await follower
    assert [e.online for e in events] == [False, True]
    assert alice.online

    # And it all works again.
    await asyncio.wait_for(manager.synced.wait(), 60)
    job = await alice.print_files("office", [SAMPLE])
    assert (await alice.wait_for_final(job.job_id, timeout=WAIT)).job_state == JobState.COMPLETED
