"""The service's Prometheus metrics (prometheus-client) and its health, served on the
HTTPS endpoint as GET /metrics and GET /healthz.

The hot path keeps counts, never queries: the job gauges start from one GROUP BY at
start-up and then follow the job state machine's committed changes (a listener); the
rest are plain integers the service keeps anyway (ServiceContext.traffic, the database's
error count, the devices present) and are read at each scrape by a collector.

/metrics: with `[metrics] token` set, only a request with `Authorization: Bearer TOKEN`;
without, only a request from loopback that came through no proxy (no X-Forwarded-For or
Forwarded header: the reverse proxy of docs/deploy.md forwards from loopback too).
/healthz: for load balancers, open, 200 when the database answers and the XMPP component
is online, 503 (and what is wrong) otherwise.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import ipaddress
import time
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from server.context import ServiceContext
from server.stores.jobs import Job
from server.stores.sql import JOB_ACTIVE
from stanzas.states import RegistrationState

_SECONDS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600)
_PUSH = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1)
REMEMBERED = 20_000  # creation times kept for the latency histogram (jobs in flight)


class ServiceMetrics:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Gauge(
            "cirrus_jobs",
            "Jobs that have not ended, by queue and job-state",
            ["queue", "state"],
            registry=r,
        )
        self.depth = Gauge(
            "cirrus_queue_depth",
            "Fetchable jobs waiting for the queue's device",
            ["queue"],
            registry=r,
        )
        self.created = Counter("cirrus_jobs_created", "Jobs created", ["queue"], registry=r)
        self.ended = Counter(
            "cirrus_jobs_ended", "Jobs ended, by final job-state", ["queue", "state"], registry=r
        )
        self.latency = Histogram(
            "cirrus_job_latency_seconds",
            "From a job's creation to its end (completed, canceled or aborted)",
            ["queue"],
            buckets=_SECONDS,
            registry=r,
        )
        self.push_latency = Histogram(
            "cirrus_push_latency_seconds",
            "From the COMMIT of a change to its push leaving: job-event to the user, work to "
            "the device",
            ["kind"],
            buckets=_PUSH,
            registry=r,
        )
        self.devices = Gauge(
            "cirrus_devices",
            "Registered devices, by whether their manager's account is online (presence or "
            "a request since the service started) and approved",
            ["online", "approved"],
            registry=r,
        )
        r.register(_Counts(ctx))
        self._born: dict[int, float] = {}
        # Labelled children by their labels: prometheus-client's labels() costs several
        # microseconds a call, a dict lookup a tenth of one (a job makes a dozen).
        self._children: dict[tuple[object, ...], Any] = {}

    async def start(self) -> None:
        """Take the gauges' starting values, then follow the committed changes."""
        rows = await self.ctx.db.fetchall(
            "SELECT printer_name, job_state, COUNT(*) AS n, SUM(is_fetchable) AS f FROM jobs"
            f" WHERE {JOB_ACTIVE} GROUP BY printer_name, job_state"
        )
        for row in rows:
            self.jobs.labels(row["printer_name"], row["job_state"]).set(row["n"])
            self.depth.labels(row["printer_name"]).inc(row["f"] or 0)
        self.ctx.job_states.listeners.append(self.job_changed)

    def stop(self) -> None:
        if self.job_changed in self.ctx.job_states.listeners:
            self.ctx.job_states.listeners.remove(self.job_changed)

    def job_changed(self, before: Job | None, after: Job) -> None:
        queue = after.printer_name
        moved = before is None or (before.job_state, before.printer_name) != (
            after.job_state,
            queue,
        )
        if before is None:
            self._of(self.created, queue).inc()
            if len(self._born) < REMEMBERED:
                self._born[after.job_id] = time.time()
        elif moved:
            self._of(self.jobs, before.printer_name, before.job_state.value).dec()
        if moved and not after.job_state.is_terminal:
            self._of(self.jobs, queue, after.job_state.value).inc()
        if after.is_fetchable != (before.is_fetchable if before else False):
            self._of(self.depth, queue).inc(1 if after.is_fetchable else -1)
        if after.job_state.is_terminal and (before is None or not before.job_state.is_terminal):
            self._of(self.ended, queue, after.job_state.value).inc()
            born = self._born.pop(after.job_id, None)
            took = (
                time.time() - born
                if born
                else (after.time_at_completed or 0) - (after.time_at_creation)
            )
            self._of(self.latency, queue).observe(max(took, 0.0))

    async def scrape(self) -> bytes:
        """The exposition, with the devices counted now (a read per scrape, not per job)."""
        counts: collections.Counter[tuple[str, str]] = collections.Counter()
        for device in await self.ctx.devices.list_all():
            online = "true" if device.jid in self.ctx.online else "false"
            approved = (
                "true" if device.registration_state == RegistrationState.APPROVED else "false"
            )
            counts[online, approved] += 1
        for online in ("true", "false"):
            for approved in ("true", "false"):
                self.devices.labels(online, approved).set(counts[online, approved])
        return self.exposition()

    def pushed(self, kind: str, seconds: float) -> None:
        self._of(self.push_latency, kind).observe(seconds)

    def _of(self, metric: Any, *labels: str) -> Any:
        key = (metric, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Counts:
    """What the service counts as integers anyway, read at each scrape."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        ctx, traffic = self.ctx, self.ctx.traffic
        moved = CounterMetricFamily(
            "cirrus_document_bytes", "Document data received and handed out", labels=["direction"]
        )
        moved.add_metric(["in"], traffic.document_bytes_in)
        moved.add_metric(["out"], traffic.document_bytes_out)
        yield moved
        yield CounterMetricFamily(
            "cirrus_xmpp_reconnects", "Times the component connected again", traffic.reconnects
        )
        yield CounterMetricFamily(
            "cirrus_database_errors", "Statements the database refused", ctx.db.errors
        )
        requests = CounterMetricFamily(
            "cirrus_requests",
            "Requests by operation and outcome (IPP status; anything but successful-ok is an "
            "error)",
            labels=["operation", "status"],
        )
        for (operation, status), n in sorted(traffic.requests.items()):
            requests.add_metric([operation, status], n)
        yield requests
        yield GaugeMetricFamily(
            "cirrus_xmpp_online",
            "Whether the component is connected to the XMPP server",
            1 if _online(ctx) else 0,
        )


def _online(ctx: ServiceContext) -> bool:
    online = getattr(ctx.push, "online", None)
    return isinstance(online, asyncio.Event) and online.is_set()


# --- the endpoints -------------------------------------------------------------------------


def _allowed(request: web.Request, token: str | None) -> bool:
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


def add_routes(app: web.Application, ctx: ServiceContext, metrics: ServiceMetrics) -> None:
    async def serve_metrics(request: web.Request) -> web.Response:
        if not _allowed(request, ctx.settings.metrics.token):
            return web.Response(status=403, text="metrics: bearer token or loopback only\n")
        body = await metrics.scrape()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(request: web.Request) -> web.Response:
        problems = []
        try:
            await asyncio.wait_for(ctx.db.fetchone("SELECT 1"), 2.0)
        except Exception as exc:
            problems.append(f"database: {exc!r}"[:200])
        if not _online(ctx):
            problems.append("xmpp: the component is not connected")
        status = {"database": "ok", "xmpp": "online"} if not problems else {"problems": problems}
        return web.json_response(status, status=503 if problems else 200)

    app.router.add_get("/metrics", serve_metrics)
    app.router.add_get("/healthz", health)
