"""The two-hop C anchor for documents: curl → nginx (HTTPS, WebDAV PUT) → curl.

A private nginx on a loopback port, its prefix, configuration and a self-signed
certificate in a temporary folder, started and stopped by the benchmark (`nginx -p DIR
-c DIR/nginx.conf -e DIR/error.log`, in the foreground). One hop is `curl -T` uploading
the document over HTTPS (nginx's `dav_methods PUT` writes it into its root, on the same
file system as Cirrus's spool, and renames it into place; unlike Cirrus it does not
fsync), the other `curl` downloading it over HTTPS into a tmpfs folder (where Cirrus's
`file` driver puts it). MB/s is the size over the sum of curl's two `time_total`.

Debian's `nginx` package (or `nginx-light`) has the DAV module; it is not among the
Makefile's packages because installing it starts a system nginx on port 80: the row
says "skipped (nginx not installed)" without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.common import ChildFailed, run_tool, stop_group
from prosody_config.launcher import free_ports

MB = 1_000_000


def available() -> str | None:
    """None when nginx (with the DAV module) and curl are installed, else why not."""
    if shutil.which("nginx") is None:
        return "skipped (nginx not installed: apt-get install nginx-light)"
    if shutil.which("curl") is None:
        return "skipped (curl not installed)"
    built = subprocess.run(["nginx", "-V"], capture_output=True, text=True, timeout=10)
    if "http_dav_module" not in built.stdout + built.stderr:
        return "skipped (this nginx has no WebDAV module)"
    return None


class Nginx:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.root = folder / "root"
        self.cert = folder / "cert.pem"
        self.key = folder / "key.pem"
        self.port = free_ports(1)[0]
        self.url = f"https://127.0.0.1:{self.port}"
        self.proc: asyncio.subprocess.Process | None = None

    def _config(self) -> str:
        d = self.folder
        user = ""
        if os.geteuid() == 0:  # the workers would otherwise run as nobody
            user = (
                f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
            )
        temp = "".join(
            f"    {kind}_temp_path {d}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        return f"""{user}
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
{temp}    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {self.cert};
        ssl_certificate_key {self.key};
        root {self.root};
        client_max_body_size 0;
        location / {{
            dav_methods PUT;
            dav_access user:rw;
        }}
    }}
}}
"""

    async def start(self, timeout: float = 15.0) -> None:
        self.root.mkdir(parents=True)
        status, out = await run_tool(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.key),
                "-out",
                str(self.cert),
            ],
            30,
        )
        if status != 0:
            raise ChildFailed(f"openssl could not make a certificate: {out[-500:]}")
        conf = self.folder / "nginx.conf"
        conf.write_text(self._config())
        log = (self.folder / "nginx.out").open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                "nginx",
                "-p",
                str(self.folder),
                "-c",
                str(conf),
                "-e",
                str(self.folder / "error.log"),
                "-g",
                "daemon off;",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.returncode is not None:
                raise ChildFailed(f"nginx exited: {self.log_tail()}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise ChildFailed(f"nginx did not listen: {self.log_tail()}") from None
                await asyncio.sleep(0.05)

    def log_tail(self) -> str:
        parts = []
        for name in ("nginx.out", "error.log"):
            with contextlib.suppress(OSError):
                parts.append((self.folder / name).read_text(errors="replace")[-1500:])
        return "\n".join(parts)

    async def _curl(self, args: list[str], timeout: float) -> tuple[int, float]:
        status, text = await run_tool(
            ["curl", "-sS", "--fail", "--cacert", str(self.cert), *args], timeout
        )
        if status != 0:
            raise ChildFailed(f"curl failed ({status}): {text[-500:]}\n{self.log_tail()}")
        size, seconds = text.split()[-2:]
        return int(float(size)), float(seconds)

    async def two_hops(self, document: Path, sink: Path, timeout: float = 600) -> dict[str, float]:
        """Upload then download the document; seconds of each and MB/s over both."""
        url = f"{self.url}/{document.name}"
        up_bytes, up = await self._curl(
            ["-T", str(document), "-o", "/dev/null", "-w", "%{size_upload} %{time_total}", url],
            timeout,
        )
        target = sink / document.name
        try:
            down_bytes, down = await self._curl(
                ["-o", str(target), "-w", "%{size_download} %{time_total}", url], timeout
            )
        finally:
            target.unlink(missing_ok=True)
            (self.root / document.name).unlink(missing_ok=True)
        size = document.stat().st_size
        if up_bytes != size or down_bytes != size:
            raise ChildFailed(f"nginx hops moved {up_bytes} / {down_bytes} of {size} bytes")
        return {
            "upload_seconds": round(up, 3),
            "download_seconds": round(down, 3),
            "seconds": round(up + down, 3),
            "mb_per_s": round(size / MB / (up + down), 1),
        }

    async def stop(self) -> None:
        await stop_group(self.proc, signal.SIGQUIT)  # graceful: the workers finish first
