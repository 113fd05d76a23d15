"""Remedial redirection: the time from a device's abort to the job printing elsewhere.

Prosody and the real service (`python -m server`) run as their own processes; two
managers with sim devices (`left`, `right`) run in this process, so that the abort can
be caused and both moments read off the devices themselves: `left` aborts the job
(media-jam, a reason the queue lists in redirect-reasons) the moment it would have
finished; the figure is from that moment to `right` starting to print the job. Each
round: `right` paused so that `left` takes the job, resumed once it has, then the
abort. The path measured: UpdateJobState aborted → the redirection (one transaction) →
the work notification to `right` → FetchJob, create, AcknowledgeJob, FetchDocument,
AcknowledgeDocument, send → processing.

    python -m bench.redirect [--rounds 20]
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import Any

import uvloop

from bench.common import log, machine_info, summary_ms, write_results
from bench.report import Row, fmt, table
from bench.stack import BenchStack, start_stack
from cirrus.admin_client import AdminClient
from cirrus.client import CirrusClient
from cirrus.stack.local import manager_config
from manager.app import ManagerApp
from manager.config import ManagerSettings
from manager.drivers.sim import SimDriver, SimJob
from stanzas import admin_ops as a
from stanzas.groups import QueueConfiguration

SECTION = "redirect"
PDF = b"%PDF-1.4 redirected"


class Stamped(SimDriver):
    """A sim device that notes when each job changes state (monotonic)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stamps: dict[tuple[str, str], float] = {}  # (job name, state) → when

    def _set(self, job: SimJob, state: str, reasons: tuple[str, ...], message: str) -> None:
        self.stamps.setdefault((job.name, state), time.monotonic())
        super()._set(job, state, reasons, message)


async def manager(stack: BenchStack, account: str, name: str, driver: SimDriver) -> ManagerApp:
    (code,) = await stack.enrollment_codes(["office"])
    config = manager_config(
        stack.state / f"manager-{name}",
        stack.prosody,
        jid=stack.prosody.jid(account),
        password=stack.passwords[account],
        devices=[
            {
                "output_device_uuid": uuid.uuid4().urn,
                "printer_name": "office",
                "device_name": name,
                "driver": "sim:",
                "enrollment_code": code,
            }
        ],
        status_interval=0.5,
    )
    settings = ManagerSettings.model_validate(config)
    app = ManagerApp(settings, drivers={settings.devices[0].output_device_uuid: driver})
    await app.start()
    await app.synced.wait()
    return app


async def run(*, rounds: int = 20) -> dict[str, Any]:
    stack = await start_stack("rd", ["alice", "m1", "m2"])
    apps: list[ManagerApp] = []
    try:
        await stack.start_service()
        left, right = Stamped(speed=0.05), Stamped()
        apps = [
            await manager(stack, "m1", "left", left),
            await manager(stack, "m2", "right", right),
        ]
        async with (
            CirrusClient(stack.client("admin")) as admin_session,
            CirrusClient(stack.client("alice")) as alice,
        ):
            admin = AdminClient(admin_session)
            await admin.call(
                a.SetServiceElements(
                    printer_name="office",
                    configuration=QueueConfiguration(
                        redirect_reasons=["media-jam"], redirect_max=5
                    ),
                ),
                a.ServiceResponse,
            )
            delays = []
            for n in range(rounds):
                name = f"round-{n}"
                await admin.call(a.PauseDevice(printer_name="right"), a.DeviceResponse)
                left.abort_next("Paper jam", reason="media-jam")
                job = await alice.print_document(
                    "office",
                    PDF,
                    document_name="a.pdf",
                    document_format="application/pdf",
                    job_name=name,
                )
                async for status in alice.job_updates(job.job_id, timeout=30):
                    if status.output_device_assigned == "left":
                        await admin.call(a.ResumeDevice(printer_name="right"), a.DeviceResponse)
                final = await alice.wait_for_final(job.job_id, timeout=30)
                assert final.output_device_assigned == "right", final
                delays.append(right.stamps[(name, "processing")] - left.stamps[(name, "aborted")])
            log(f"redirect: {rounds} rounds")
            return {"rounds": rounds, "abort_to_printing_elsewhere": summary_ms(delays)}
    finally:
        for app in apps:
            await app.stop()
        await stack.stop()


def rows(result: dict[str, Any]) -> list[Row]:
    got = result["abort_to_printing_elsewhere"]
    return [
        Row(SECTION, "abort at one device → printing at another, p50", fmt(got["p50_ms"], 1, "ms")),
        Row(SECTION, "abort at one device → printing at another, p90", fmt(got["p90_ms"], 1, "ms")),
        Row(SECTION, "abort at one device → printing at another, max", fmt(got["max_ms"], 1, "ms")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    result = uvloop.run(run(rounds=args.rounds))
    path = write_results({"machine": machine_info(), "redirect": result}, "redirect")
    print(table(rows(result)))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
