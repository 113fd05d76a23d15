"""`python -m server --config service.toml`: run the Cloud Imaging Service."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
import tarfile
from pathlib import Path

import uvloop

from server.app import ServiceApp
from server.backup import archive
from server.config import Settings
from stanzas import logsetup


async def run(config: Path) -> None:
    app = ServiceApp(Settings.load(config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await app.start()
    # What start-up built (modules, slixmpp's and aiohttp's tables, stanza classes) lives
    # as long as the process: move it out of the cyclic GC's reach, so its full
    # collections scan only what came later (else ~55 ms every ~250 jobs: tail spikes).
    gc.collect()
    gc.freeze()
    print(f"cirrus service ready; documents at {app.service.public_url}", flush=True)
    await stop.wait()
    await app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument(
        "--restore",
        type=Path,
        metavar="ARCHIVE",
        help="restore a backup (cirrus admin backup) into the config's fresh state, then exit",
    )
    logsetup.add_arguments(parser)
    args = parser.parse_args()
    logsetup.configure(args.log_level, args.log_format)
    if args.restore is not None:
        raise SystemExit(restore(args.config, args.restore))
    uvloop.run(run(args.config))


def restore(config: Path, backup: Path) -> int:
    settings = Settings.load(config)
    try:
        manifest = archive.restore(backup, settings.database, settings.spool_dir)
    except (archive.RestoreError, OSError, tarfile.TarError) as exc:
        print(f"cannot restore {backup}: {exc}", file=sys.stderr)
        return 1
    print(
        f"restored {manifest['jobs']} jobs and the data of {len(manifest['spool'])} documents"
        f" into {settings.database}; start the service as usual: its devices resynchronise",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    main()
