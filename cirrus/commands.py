"""The user commands of `cirrus`: one async function each, on the client library."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cirrus.client import CirrusClient, guess_format, new_idempotency_key
from cirrus.output import JOB_HEADERS, describe, emit_json, job_rows, table
from stanzas.groups import JobStatus, JobTicket
from stanzas.states import ServiceType
from stanzas.types import INLINE_DOCUMENT_MAX

# destination-uris schemes and the service that sends there (PWG 5100.15).
SERVICE_FOR_SCHEME = {"mailto": ServiceType.EMAIL_OUT, "tel": ServiceType.FAX_OUT}
SCAN_FORMATS = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "png": "image/png",
}
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def destination_service(uris: list[str]) -> ServiceType:
    """The service of `--to` URIs: all mailto: (EmailOut) or all tel: (FaxOut)."""
    schemes = {uri.partition(":")[0].lower() for uri in uris}
    services = {SERVICE_FOR_SCHEME.get(scheme) for scheme in schemes}
    if len(services) != 1 or None in services:
        raise SystemExit("cirrus: --to takes mailto: URIs (email) or tel: URIs (fax), not both")
    return next(s for s in services if s is not None)


def ticket_from(args: argparse.Namespace) -> JobTicket:
    return JobTicket(
        destination_uris=getattr(args, "to", None) or None,
        copies=args.copies,
        media=args.media,
        sides=args.sides,
        print_color_mode=args.color_mode,
        print_quality={"draft": 3, "normal": 4, "high": 5}.get(args.quality or ""),
        page_ranges=args.page_ranges,
        job_priority=args.priority,
        job_hold_until="indefinite" if getattr(args, "hold", False) else None,
    )


def add_ticket_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--copies", type=int)
    parser.add_argument("--media", help="e.g. iso_a4_210x297mm, na_letter_8.5x11in")
    parser.add_argument(
        "--sides", choices=["one-sided", "two-sided-long-edge", "two-sided-short-edge"]
    )
    parser.add_argument("--color-mode", help="print-color-mode: auto, color, monochrome …")
    parser.add_argument("--quality", choices=["draft", "normal", "high"])
    parser.add_argument("--page-ranges", help="e.g. 1-3,7")
    parser.add_argument("--priority", type=int, help="job-priority 1..100")


def _say(args: argparse.Namespace, text: str, job: JobStatus | None = None) -> None:
    if args.json:
        if job is not None:
            emit_json(job)
    else:
        print(f"{time.strftime('%H:%M:%S')}  {text}", flush=True)


async def cmd_print(client: CirrusClient, args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.is_file():
            raise SystemExit(f"cirrus: {path}: no such file")
    if not paths and not args.uri:
        raise SystemExit("cirrus: nothing to print: give files or --uri")
    name = args.name or (paths[0].name if paths else args.uri[0].rsplit("/", 1)[-1])
    service = destination_service(args.to) if args.to else ServiceType.PRINT
    small = len(paths) == 1 and not args.uri and paths[0].stat().st_size <= INLINE_DOCUMENT_MAX
    # The same key when the command is run again makes no second job (client.submit).
    key = args.idempotency_key or new_idempotency_key()
    if small:  # one request (Print-Job)
        job = await client.print_files(
            args.queue,
            paths,
            job_name=name,
            ticket=ticket_from(args),
            service_type=service,
            idempotency_key=key,
        )
        _say(args, f"job {job.job_id} created on queue {args.queue} with {paths[0].name}", job)
    else:
        job = await client.create_job(
            args.queue,
            job_name=name,
            ticket=ticket_from(args),
            service_type=service,
            idempotency_key=key,
        )
        _say(args, f"job {job.job_id} created on queue {args.queue}", job)
    if job.unsupported_elements:
        _say(args, f"the queue ignores: {', '.join(job.unsupported_elements)}")
    total = len(paths) + len(args.uri)
    for index, path in enumerate([] if small else paths):
        uploaded = await _upload(client, job.job_id, path, index == total - 1, args)
        _say(args, f"sent {path.name}: {uploaded} octets")
    for index, uri in enumerate(args.uri, start=len(paths)):
        await client.send_uri(job.job_id, uri, last_document=index == total - 1)
        _say(args, f"asked the service to fetch {uri}")
    if args.no_wait:
        status = await client.get_job(job.job_id)
        _say(args, describe(status), status)
        return 0
    final = job
    async for status in client.job_updates(job.job_id, timeout=args.timeout):
        _say(args, describe(status), status)
        final = status
    return 0 if final.job_state.value == "completed" else 1


async def cmd_scan(client: CirrusClient, args: argparse.Namespace) -> int:
    """A scan job: the ticket, Add<Service>HardcopyDocument, the states live, then the
    scanned documents downloaded into -o FILE (FILE-2.ext, … for one image per page)."""
    output = Path(args.output)
    if not output.parent.is_dir():
        raise SystemExit(f"cirrus: {output.parent}: no such folder")
    document_format = SCAN_FORMATS.get(args.format.lower(), args.format)
    ticket = JobTicket(
        document_format=document_format,
        input_source={"feeder": "adf"}.get(args.source, args.source),
        input_color_mode=args.color_mode,
        input_resolution=args.resolution,
        input_sides="two-sided-long-edge" if args.duplex else None,
        number_of_pages=args.pages,
        media=args.media,
    )
    job = await client.create_job(
        args.queue, job_name=args.name or output.name, ticket=ticket, service_type=ServiceType.SCAN
    )
    _say(args, f"scan job {job.job_id} created on queue {args.queue}", job)
    if job.unsupported_elements:
        _say(args, f"the queue ignores: {', '.join(job.unsupported_elements)}")
    await client.add_hardcopy_document(job.job_id, input_source=ticket.input_source)
    final = job
    async for status in client.job_updates(job.job_id, timeout=args.timeout):
        _say(args, describe(status), status)
        final = status
    if final.job_state.value != "completed":
        return 1
    documents = (await client.get_documents(job.job_id)).document
    for index, document in enumerate(documents):
        path = _numbered(output, index, document.document_format)
        size = await client.download_document(job.job_id, document.document_number, path)
        _say(args, f"wrote {path} ({size} octets, {document.document_format})")
    if not documents:
        _say(args, "the scan produced no document")
        return 1
    return 0


def _numbered(output: Path, index: int, document_format: str | None) -> Path:
    if index == 0:
        return output
    suffix = output.suffix or _EXTENSIONS.get(document_format or "", "")
    return output.with_name(f"{output.stem}-{index + 1}{suffix}")


async def _upload(
    client: CirrusClient, job_id: int, path: Path, last: bool, args: argparse.Namespace
) -> int:
    size = path.stat().st_size
    if args.json or size < 8 * 1024 * 1024:
        return (await client.send_document(job_id, path, last_document=last)).size
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    ) as progress:
        task = progress.add_task(f"sending {path.name}", total=size)
        uploaded = await client.send_document(
            job_id,
            path,
            document_format=guess_format(path),
            last_document=last,
            progress=lambda n: progress.advance(task, n),
        )
    return uploaded.size


async def cmd_jobs(client: CirrusClient, args: argparse.Namespace) -> int:
    which = "completed" if args.history else "not-completed"
    jobs = await client.get_jobs(
        args.queue,
        which=which,
        my_jobs=not args.all,
        limit=args.limit,
        service_types=tuple(ServiceType),  # print, scan, emailout and faxout jobs alike
    )
    if args.json:
        emit_json(jobs)
    elif jobs:
        print(table(JOB_HEADERS, job_rows(jobs)))
    else:
        print("no jobs" if args.history else "no active jobs")
    return 0


async def cmd_job(client: CirrusClient, args: argparse.Namespace) -> int:
    elements = await client.get_job_elements(args.job_id)
    documents = await client.get_documents(args.job_id)
    if args.json:
        emit_json(
            {
                "job": elements.job.model_dump(mode="json", by_alias=True, exclude_none=True),
                "documents": [
                    d.model_dump(mode="json", by_alias=True, exclude_none=True)
                    for d in documents.document
                ],
            }
        )
        return 0
    job = elements.job
    print(describe(job))
    for key, value in job.model_dump(by_alias=True, exclude_none=True).items():
        if key not in (
            "job-id",
            "job-state",
            "job-state-reasons",
            "job-state-message",
            "job-ticket",
        ):
            print(f"  {key}: {value}")
    if job.job_ticket and job.job_ticket.model_dump(exclude_none=True):
        ticket = job.job_ticket.model_dump(by_alias=True, exclude_none=True)
        print("  ticket: " + ", ".join(f"{k}={v}" for k, v in ticket.items()))
    for d in documents.document:
        print(
            f"  document {d.document_number}: {d.document_name} ({d.document_format}, "
            f"{d.document_size} octets) {d.document_state.value}"
        )
    return 0


async def cmd_cancel(client: CirrusClient, args: argparse.Namespace) -> int:
    if args.mine:
        result = await client.cancel_my_jobs(args.queue, args.job_ids or None)
        if args.json:
            emit_json(result)
        else:
            print(f"canceled: {', '.join(map(str, result.job_ids)) or 'nothing'}")
            if result.already_terminated_job_ids:
                ended = ", ".join(map(str, result.already_terminated_job_ids))
                print(f"warning: already ended: {ended}")
        return 0
    if not args.job_ids:
        raise SystemExit("cirrus: cancel needs job ids, or --mine")
    for job_id in args.job_ids:
        job = await client.cancel_job(job_id)
        emit_json(job) if args.json else print(describe(job))
    return 0


async def cmd_hold(client: CirrusClient, args: argparse.Namespace) -> int:
    for job_id in args.job_ids:
        job = await client.hold_job(job_id, args.until)
        emit_json(job) if args.json else print(describe(job))
    return 0


async def cmd_release(client: CirrusClient, args: argparse.Namespace) -> int:
    if args.at is not None:
        if not args.job_ids and not args.mine:
            raise SystemExit("cirrus: release --at needs job ids, or --mine")
        released = await client.release_at(args.at, None if args.mine else args.job_ids)
        if args.json:
            emit_json(released)
        elif released.job_ids:
            jobs = ", ".join(map(str, released.job_ids))
            print(f"released at {released.output_device}: job {jobs}")
        else:
            print(f"nothing of yours waits to be released at {released.output_device}")
        return 0
    if not args.job_ids:
        raise SystemExit("cirrus: release needs job ids (or --at DEVICE --mine)")
    for job_id in args.job_ids:
        job = await client.release_job(job_id)
        emit_json(job) if args.json else print(describe(job))
    return 0


async def cmd_resubmit(client: CirrusClient, args: argparse.Namespace) -> int:
    job = await client.resubmit_job(args.job_id, ticket_from(args))
    emit_json(job) if args.json else print(f"resubmitted as {describe(job)}")
    return 0


async def cmd_queues(client: CirrusClient, args: argparse.Namespace) -> int:
    queues = await client.list_queues()
    if args.json:
        emit_json(queues)
        return 0
    rows = []
    for q in queues:
        d, s = q.description, q.status
        rows.append(
            [
                d.printer_name if d else "?",
                s.printer_state.value if s and s.printer_state else "?",
                ", ".join(s.printer_state_reasons or []) if s else "",
                "yes" if q.is_accepting_jobs else "no",
                q.queued_job_count,
                (d.printer_info or "") if d else "",
            ]
        )
    print(table(("queue", "state", "reasons", "accepting", "jobs", "info"), rows))
    return 0


async def cmd_queue(client: CirrusClient, args: argparse.Namespace) -> int:
    kind = await client.service_type_of(args.queue)  # a scan queue shows its scanner
    service = await client.get_service_elements(args.queue, service_type=kind)
    if args.json:
        emit_json(service)
        return 0
    for group, value in service.model_dump(by_alias=True, exclude_none=True).items():
        if isinstance(value, dict):
            print(f"{group}:")
            for key, item in value.items():
                print(f"  {key}: {item}")
        else:
            print(f"{group}: {value}")
    return 0


async def cmd_validate(client: CirrusClient, args: argparse.Namespace) -> int:
    dropped = await client.validate_job_ticket(args.queue, ticket_from(args))
    if args.json:
        emit_json({"unsupported-elements": dropped})
    elif dropped:
        print(f"the queue would ignore: {', '.join(dropped)}")
    else:
        print("the queue supports this ticket")
    return 1 if dropped else 0
