"""The manager's Prometheus metrics (prometheus-client), on a loopback port of its own
(`metrics_port`; off unless set): everything is read at each scrape from what the
manager keeps anyway, so the job path costs nothing more.

    cirrus_manager_jobs{queue,state}             jobs it holds, by the state last reported
    cirrus_manager_devices_online{queue}         1 while the device answers status queries
    cirrus_manager_requests{operation,status}    requests to the service, by outcome
    cirrus_manager_reconnects                    logins after the first
    cirrus_manager_xmpp_online                   whether its session is up
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from manager.held_jobs import HeldJobs
from stanzas.session import ComponentSession, ServiceSession


class Worker(Protocol):
    uuid: str
    printer_name: str
    device_answers: bool


class ManagerApp(Protocol):
    """What the metrics read of the manager (manager/app.py's ManagerApp)."""

    @property
    def workers(self) -> Mapping[str, Worker]: ...

    held: HeldJobs
    session: ServiceSession | ComponentSession


class ManagerCollector:
    def __init__(self, app: ManagerApp) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        jobs = GaugeMetricFamily(
            "cirrus_manager_jobs", "Jobs the manager holds, by state", labels=["queue", "state"]
        )
        online = GaugeMetricFamily(
            "cirrus_manager_devices_online",
            "Whether the device answered its last status query",
            labels=["queue"],
        )
        for worker in app.workers.values():
            counts = collections.Counter(h.last_state for h in app.held.for_device(worker.uuid))
            for state, n in sorted(counts.items()):
                jobs.add_metric([worker.printer_name, state], n)
            online.add_metric([worker.printer_name], 1 if worker.device_answers else 0)
        yield jobs
        yield online
        session = app.session
        requests = CounterMetricFamily(
            "cirrus_manager_requests",
            "Requests to the service by operation and outcome",
            labels=["operation", "status"],
        )
        for (operation, status), n in sorted(session.outcomes.items()):
            requests.add_metric([operation, status], n)
        yield requests
        yield CounterMetricFamily(
            "cirrus_manager_reconnects", "Logins after the first", max(session.logins - 1, 0)
        )
        yield GaugeMetricFamily(
            "cirrus_manager_xmpp_online", "Whether the session is up", int(session.online.is_set())
        )


class ManagerMetrics:
    def __init__(self, app: ManagerApp, port: int, host: str = "127.0.0.1") -> None:
        self.registry = CollectorRegistry()
        self.registry.register(ManagerCollector(app))
        self.host, self.port = host, port
        self._server: object | None = None

    def start(self) -> int:
        """Serve /metrics (prometheus-client's own HTTP server thread); the bound port."""
        server, _thread = start_http_server(self.port, addr=self.host, registry=self.registry)
        self._server = server
        return int(server.server_port)

    def stop(self) -> None:
        server = self._server
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
            self._server = None
