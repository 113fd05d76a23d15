"""The service's metrics follow the committed changes (no query per job): one job's life
shows in the gauges, counters and histograms; the gauges start from what is stored."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from server.app import ServiceApp
from stanzas import device_ops as d
from tests.handlers.conftest import DEVICE, create_job, register
from tests.handlers.stream import ALICE, MGR1, Stream, settings
from tests.handlers.test_job_log import PDF, print_one

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(stream_or_app: Stream | ServiceApp) -> Samples:
    app = stream_or_app.app if isinstance(stream_or_app, Stream) else stream_or_app
    text = app.metrics.exposition().decode()
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_one_jobs_life_in_the_metrics(stream: Stream) -> None:
    job_id = await print_one(stream)
    await stream.quiet()
    m = samples(stream)
    assert value(m, "cirrus_jobs_created_total", queue="office") == 1
    assert value(m, "cirrus_jobs_ended_total", queue="office", state="completed") == 1
    assert value(m, "cirrus_jobs", queue="office", state="pending") == 0
    assert value(m, "cirrus_jobs", queue="office", state="processing") == 0
    assert value(m, "cirrus_queue_depth", queue="office") == 0
    assert value(m, "cirrus_job_latency_seconds_count", queue="office") == 1
    assert value(m, "cirrus_document_bytes_total", direction="in") == len(PDF)
    assert value(m, "cirrus_document_bytes_total", direction="out") == len(PDF)
    assert value(m, "cirrus_requests_total", operation="FetchJob", status="successful-ok") == 1
    assert value(m, "cirrus_push_latency_seconds_count", kind="work") >= 1
    assert value(m, "cirrus_push_latency_seconds_count", kind="job-event") >= 1
    assert value(m, "cirrus_xmpp_online") == 1
    assert job_id == 1


async def test_refusals_count_by_status_and_the_gauges_start_from_the_store(
    tmp_path: Path,
) -> None:
    stream = Stream(tmp_path)
    await stream.open()
    try:
        await register(stream, MGR1, DEVICE, "office")
        job_id = await create_job(stream, ALICE, "office")  # pending, incoming
        await stream.refused(MGR1, d.FetchJob(output_device_uuid=DEVICE, job_id=job_id))
        m = samples(stream)
        assert value(m, "cirrus_jobs", queue="office", state="pending") == 1
        status = "client-error-not-fetchable"
        assert value(m, "cirrus_requests_total", operation="FetchJob", status=status) == 1
    finally:
        await stream.close()
    # A service started on the same database counts the job it finds.
    again = ServiceApp(settings(tmp_path))
    await again.start_core()
    try:
        m = samples(again)
        assert value(m, "cirrus_jobs", queue="office", state="pending") == 1
        assert value(m, "cirrus_jobs_created_total", queue="office") == 0
    finally:
        await again.stop()
