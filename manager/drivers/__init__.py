"""Device drivers: how the Device Manager talks to an Imaging Device.

``make_driver(spec)`` builds one from a configuration string:

* ``ipp:ipp://127.0.0.1:8631/ipp/print`` (or a bare ``ipp://``/``ipps://`` URI) — IppDriver
* ``file:/path/to/dir`` — FileDriver, one file per document
* ``sim:`` or ``sim:speed=0.1`` — SimDriver, an in-memory simulated printer

Scanners have their own interface (scanner.py): ``make_scan_driver(spec)`` builds one:

* ``sane:test`` (any SANE device name, as ``scanimage -L`` lists it) — SaneDriver
"""

from __future__ import annotations

from .base import DeviceDriver
from .scanner import ScanDriver

__all__ = ["make_driver", "make_scan_driver"]


def make_driver(spec: str) -> DeviceDriver:
    """A driver for ``spec`` (see the module docstring); ValueError if unknown."""
    spec = spec.strip()
    kind, sep, rest = spec.partition(":")
    kind = kind.lower()
    if not sep:
        raise ValueError(f"driver spec {spec!r}: expected ipp:URI, file:PATH or sim:[OPTIONS]")
    if kind in ("ipp", "ipps") and rest.startswith("//"):
        kind, rest = "ipp", spec  # a bare printer URI
    if kind == "ipp":
        from .ipp import IppDriver

        if not rest:
            raise ValueError(f"driver spec {spec!r}: missing printer URI")
        return IppDriver(rest)
    if kind == "file":
        from .file import FileDriver

        path = rest[2:] if rest.startswith("//") else rest  # file:///dir → /dir
        if not path:
            raise ValueError(f"driver spec {spec!r}: missing folder")
        return FileDriver(path)
    if kind == "sim":
        from .sim import SimDriver

        return SimDriver.from_spec(rest)
    raise ValueError(f"driver spec {spec!r}: unknown driver {kind!r} (ipp, file or sim)")


def make_scan_driver(spec: str) -> ScanDriver:
    """A scanner driver for ``spec``; ValueError if unknown."""
    kind, sep, rest = spec.strip().partition(":")
    if kind.lower() == "sane" and sep:
        from .sane import SaneDriver

        return SaneDriver.from_spec(rest)
    raise ValueError(f"driver spec {spec!r}: expected sane:DEVICE for a scanner")
