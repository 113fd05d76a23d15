"""DNS-SD advertising of each queue (PWG 5100.14 §4.2, the Bonjour Printing spec).

Each queue is registered as ``_ipp._tcp`` (and ``_ipps._tcp`` with TLS) with the
``_print`` subtype IPP Everywhere clients browse for, and the TXT keys they read
(``txt_record``). Registration goes through the system's Avahi daemon with
``avahi-publish`` (Debian package avahi-utils), one child process per service, removed
again on stop. Where no Avahi daemon runs, the gateway logs that and goes on without
advertising: clients then add the printer by its URI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable, Iterable, Mapping

log = logging.getLogger(__name__)


def txt_record(
    queue: str,
    *,
    make_and_model: str = "Cirrus Cloud Printer",
    formats: Iterable[str] = ("application/pdf", "image/jpeg", "image/pwg-raster"),
    printer_uuid: str = "",
    admin_url: str = "",
    color: bool = False,
    duplex: bool = False,
    tls: bool = False,
    urf: str | None = None,
) -> dict[str, str]:
    """The TXT keys of one queue's registration (Bonjour Printing 1.2 §9, PWG 5100.14)."""
    txt = {
        "txtvers": "1",
        "qtotal": "1",
        "rp": f"ipp/print/{queue}",
        "ty": make_and_model[:63],
        "note": "",
        "priority": "50",
        "product": f"({make_and_model[:60]})",
        "pdl": ",".join(formats),
        "kind": "document",
        "Color": "T" if color else "F",
        "Duplex": "T" if duplex else "F",
        "printer-type": "0x800000",
        "air": "username,password",
    }
    if admin_url:
        txt["adminurl"] = admin_url
    if printer_uuid:
        txt["UUID"] = printer_uuid.removeprefix("urn:uuid:")
    if tls:
        txt["TLS"] = "1.2"
    if urf:
        txt["URF"] = urf
    return txt


class Advertiser:
    """Registers services with avahi-publish; every child it starts, it stops."""

    def __init__(self, executable: str = "avahi-publish") -> None:
        self.executable = executable
        self._children: list[asyncio.subprocess.Process] = []

    async def start(
        self,
        queues: Iterable[str],
        *,
        plain_port: int | None,
        tls_port: int | None,
        txt: Callable[[str], Mapping[str, str]],
    ) -> bool:
        if shutil.which(self.executable) is None:
            log.warning("DNS-SD off: %s not found (install avahi-utils)", self.executable)
            return False
        for queue in queues:
            for kind, port in (("_ipp._tcp", plain_port), ("_ipps._tcp", tls_port)):
                if port is None:
                    continue
                keys = dict(txt(queue))
                if kind == "_ipps._tcp":
                    keys["TLS"] = "1.2"
                args = [
                    self.executable,
                    "--service",
                    f"--subtype=_print._sub.{kind}",
                    f"{queue} @ Cirrus",
                    kind,
                    str(port),
                    *(f"{k}={v}" for k, v in keys.items()),
                ]
                child = await asyncio.create_subprocess_exec(
                    *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
                )
                self._children.append(child)
        await asyncio.sleep(0)
        alive = [c for c in self._children if c.returncode is None]
        if len(alive) != len(self._children):
            log.warning("DNS-SD: avahi-publish failed (is avahi-daemon running?)")
        return bool(alive)

    async def stop(self) -> None:
        for child in self._children:
            if child.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.terminate()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(child.wait(), 5)
        self._children.clear()
