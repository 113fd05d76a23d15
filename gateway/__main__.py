"""`python -m gateway --config gateway.toml` (also `cirrus gateway`): run the IPP gateway."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import uvloop

from stanzas import logsetup

from .app import GatewayApp, GatewayConfig, describe
from .logs import MAX_RECORD, BoundedFormatter

READY = "cirrus gateway ready"


async def run(config: Path) -> None:
    app = GatewayApp(GatewayConfig.load(config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: terminal closed
        loop.add_signal_handler(sig, stop.set)
    bound = await app.start()
    print(f"{READY}: {describe(bound)}", flush=True)
    try:
        await stop.wait()
    finally:
        await app.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cirrus gateway", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    logsetup.add_arguments(parser)
    args = parser.parse_args(argv)
    # Bounded either way: no client can make one record huge.
    logsetup.configure(
        args.log_level, args.log_format, text_formatter=BoundedFormatter, max_field=MAX_RECORD
    )
    uvloop.run(run(args.config))


if __name__ == "__main__":
    main()
