"""`cirrus doctor`'s probes where no XMPP server is needed: names that do not resolve,
what answers at the byte endpoint's URL, checks skipped after a failure."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from cirrus.deploy import doctor, probes
from cirrus.deploy.probes import ProbeFailed


async def test_a_name_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_such_name(*_args: Any, **_kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # No DNS query leaves a test: the resolver is replaced.
    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_such_name)
    with pytest.raises(ProbeFailed) as failed:
        await probes.resolve("xmpp.example.org")
    assert str(failed.value) == "xmpp.example.org does not resolve (Name or service not known)"


@pytest.fixture
async def web_server() -> AsyncIterator[tuple[str, dict[str, web.Response]]]:
    """A plain HTTP server on loopback that answers what the test puts in `answers`."""
    answers: dict[str, web.Response] = {}

    async def handler(_request: web.Request) -> web.Response:
        return answers["response"]

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", answers
    finally:
        await runner.cleanup()


async def test_what_answers_at_the_byte_endpoint(
    web_server: tuple[str, dict[str, web.Response]],
) -> None:
    url, answers = web_server
    answers["response"] = web.json_response(
        {"status": "client-error-not-found", "message": "unknown"}, status=404
    )
    assert await probes.https_endpoint(url, None) == f"{url}: no TLS, the service answers"

    answers["response"] = web.Response(text="<html>welcome</html>", content_type="text/html")
    with pytest.raises(ProbeFailed) as failed:
        await probes.https_endpoint(url, None)
    assert str(failed.value) == f"{url}: HTTP 200 (text/html): not the Cirrus byte endpoint"

    answers["response"] = web.Response(status=502, text="Bad Gateway")
    with pytest.raises(ProbeFailed) as failed:
        await probes.https_endpoint(url, None)
    assert str(failed.value) == f"{url}: HTTP 502 from the proxy: is the service running?"


async def test_checks_after_a_failure_are_skipped() -> None:
    async def fine() -> str:
        return "fine"

    async def broken() -> str:
        raise ProbeFailed("broken: one line")

    lines: list[str] = []
    healthy = await doctor.run_checks(
        [
            doctor.Check("a", fine),
            doctor.Check("b", broken, ("a",)),
            doctor.Check("c", fine, ("b",)),
            doctor.Check("d", fine, ("a",)),
        ],
        lines.append,
    )
    assert not healthy
    assert lines == ["ok    fine", "FAIL  broken: one line", "skip  c: needs b", "ok    fine"]


def test_a_file_that_is_no_config(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('title = "something else"\n')
    with pytest.raises(ProbeFailed) as failed:
        doctor.load(path)
    assert str(failed.value) == f"{path}: neither a service, a manager nor a gateway config"
    path.write_text("not = [toml")
    with pytest.raises(ProbeFailed) as failed:
        doctor.load(path)
    assert str(failed.value).startswith(f"{path}: not TOML (")
