"""Subscription operations (RFC 3995) with the ippget pull method (RFC 3996)."""

from __future__ import annotations

from ipp.codec import IppAttribute, IppGroup, IppValue
from ipp.constants import GroupTag, Operation, StatusCode, ValueTag

from .attributes import JOB_STATES, NOTIFY_EVENTS, PRINTER_STATES
from .dispatch import operation
from .errors import IppStatusError, bad_request, not_found
from .request import Request
from .subscriptions import GET_INTERVAL, Event, Subscription

S = StatusCode
T = ValueTag
MAX_LEASE = 86400
MAX_USER_DATA = 63


def _value(attr: IppAttribute, tag: int) -> object:
    if len(attr.values) != 1 or int(attr.values[0].tag) != tag:
        raise bad_request(f"{attr.name} must be one value of its syntax")
    return attr.values[0].value


def _subscribe(req: Request, group: IppGroup, job_id: int | None) -> list[IppAttribute]:
    """One subscription group of a Create-*-Subscriptions request → its answer group."""
    events = list(NOTIFY_EVENTS[:1]) if job_id is None else ["job-completed"]
    lease = 0 if job_id is not None else 3600
    user_data: bytes | None = None
    status: StatusCode | None = None
    for attr in group.attributes:
        name = attr.name
        if name == "notify-pull-method":
            if _value(attr, T.KEYWORD) != "ippget":
                status = S.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
        elif name == "notify-recipient-uri":
            status = S.CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED  # push methods: not offered
        elif name == "notify-events":
            if any(int(v.tag) != T.KEYWORD for v in attr.values):
                raise bad_request("notify-events are keywords")
            events = [v.value for v in attr.values]
            if any(e not in NOTIFY_EVENTS and e != "none" for e in events):
                status = status or S.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
            events = [e for e in events if e in NOTIFY_EVENTS]
        elif name == "notify-lease-duration":
            value = _value(attr, T.INTEGER)
            assert isinstance(value, int)
            if job_id is None:
                lease = min(max(value, 0), MAX_LEASE) or MAX_LEASE
        elif name == "notify-user-data":
            data = _value(attr, T.OCTET_STRING)
            assert isinstance(data, bytes)
            if len(data) > MAX_USER_DATA:
                raise bad_request("notify-user-data is at most 63 octets")
            user_data = data
        elif name in ("notify-charset", "notify-natural-language", "notify-time-interval"):
            continue
        else:
            status = status or S.SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES
    if "notify-pull-method" not in group and "notify-recipient-uri" not in group:
        raise bad_request("a subscription needs notify-pull-method (ippget)")
    if status is not None and not 0 <= status <= 0xFF:
        return [IppAttribute("notify-status-code", [IppValue(T.ENUM, int(status))])]
    if req.gateway.subscriptions.full(req.identity.owner):
        return [
            IppAttribute(
                "notify-status-code", [IppValue(T.ENUM, int(S.CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS))]
            )
        ]
    sub = req.gateway.subscriptions.create(
        owner=req.identity.owner,
        queue=req.queue,
        job_id=job_id,
        events=events or ["job-completed"],
        lease_duration=lease,
        user_data=user_data,
        operator=req.identity.operator,
    )
    out = [IppAttribute("notify-subscription-id", [IppValue(T.INTEGER, sub.subscription_id)])]
    if job_id is None:
        out.append(IppAttribute("notify-lease-duration", [IppValue(T.INTEGER, lease)]))
    return out


async def subscribe_groups(req: Request, job_id: int | None, *, new_job: bool = False) -> None:
    """A subscription group of the answer for each one of the request (``new_job``:
    those of a job-creating request, RFC 3995 §5.1, whose job exists either way)."""
    groups = req.message.groups_of(GroupTag.SUBSCRIPTION)
    if not groups:
        raise bad_request("no subscription attributes group")
    answers = [_subscribe(req, g, job_id) for g in groups]
    for answer in answers:
        req.add_group(GroupTag.SUBSCRIPTION, answer)
    ignored = [a for a in answers if a[0].name == "notify-status-code"]
    if new_job and ignored and req.response.code == S.SUCCESSFUL_OK:
        req.response.code = S.SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS
    elif not new_job and len(ignored) == len(answers):
        req.response.code = S.CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS


@operation(Operation.CREATE_PRINTER_SUBSCRIPTIONS, groups=(GroupTag.SUBSCRIPTION,))
async def create_printer_subscriptions(req: Request) -> None:
    await req.gateway.queue_info(req.client, req.queue)
    await subscribe_groups(req, None)


@operation(
    Operation.CREATE_JOB_SUBSCRIPTIONS,
    attributes=("notify-job-id",),
    groups=(GroupTag.SUBSCRIPTION,),
)
async def create_job_subscriptions(req: Request) -> None:
    job_id = req.attr("notify-job-id", (T.INTEGER,))
    if job_id is None:
        raise bad_request("notify-job-id is required")
    job = await req.client.get_job(job_id)
    if job.printer_name not in (None, req.queue):
        raise not_found(f"job {job_id} is not on {req.queue}")
    if job.job_state.is_terminal:
        raise IppStatusError(S.CLIENT_ERROR_NOT_POSSIBLE, f"job {job_id} has ended")
    await subscribe_groups(req, job_id)


def _own(req: Request, attr_name: str = "notify-subscription-id") -> Subscription:
    sid = req.attr(attr_name, (T.INTEGER,))
    if sid is None:
        raise bad_request(f"{attr_name} is required")
    sub = req.gateway.subscriptions.get(sid)
    if sub is None or sub.queue != req.queue:
        raise not_found(f"no subscription {sid}")
    if sub.owner != req.identity.owner and not req.identity.operator:
        raise IppStatusError(S.CLIENT_ERROR_NOT_AUTHORIZED, f"subscription {sid} is not yours")
    return sub


def _description(sub: Subscription, printer_uri: str) -> list[IppAttribute]:
    out = [
        IppAttribute("notify-subscription-id", [IppValue(T.INTEGER, sub.subscription_id)]),
        IppAttribute("notify-printer-uri", [IppValue(T.URI, printer_uri)]),
        IppAttribute("notify-subscriber-user-name", [IppValue(T.NAME, sub.owner.split("@", 1)[0])]),
        IppAttribute("notify-events", [IppValue(T.KEYWORD, e) for e in sorted(sub.events)]),
        IppAttribute("notify-pull-method", [IppValue(T.KEYWORD, "ippget")]),
        IppAttribute("notify-lease-duration", [IppValue(T.INTEGER, sub.lease_duration)]),
    ]
    if sub.job_id is not None:
        out.append(IppAttribute("notify-job-id", [IppValue(T.INTEGER, sub.job_id)]))
    if sub.user_data is not None:
        out.append(IppAttribute("notify-user-data", [IppValue(T.OCTET_STRING, sub.user_data)]))
    return out


def _select(attrs: list[IppAttribute], requested: list[str] | None) -> list[IppAttribute]:
    wanted = set(requested or ["all"])
    if wanted & {"all", "subscription-description", "subscription-template"}:
        return attrs
    return [a for a in attrs if a.name in wanted]


@operation(
    Operation.GET_SUBSCRIPTION_ATTRIBUTES,
    attributes=("notify-subscription-id", "requested-attributes"),
)
async def get_subscription_attributes(req: Request) -> None:
    sub = _own(req)
    req.add_group(
        GroupTag.SUBSCRIPTION, _select(_description(sub, req.printer_uri), req.requested())
    )


@operation(
    Operation.GET_SUBSCRIPTIONS,
    attributes=("notify-job-id", "limit", "my-subscriptions", "requested-attributes"),
)
async def get_subscriptions(req: Request) -> None:
    """Get-Subscriptions (RFC 3995 §11.2.6): the queue's subscriptions (of one job with
    notify-job-id); a user sees their own, an operator everyone's unless
    my-subscriptions is true."""
    job_id = req.attr("notify-job-id", (T.INTEGER,))
    limit = req.attr("limit", (T.INTEGER,))
    if limit is not None and limit < 1:
        raise bad_request("limit must be 1 or more")
    mine = bool(req.attr("my-subscriptions", (T.BOOLEAN,), False)) or not req.identity.operator
    found = [
        sub
        for sub in req.gateway.subscriptions.all()
        if sub.queue == req.queue
        and sub.job_id == job_id
        and (not mine or sub.owner == req.identity.owner)
    ]
    if job_id is not None and not found:
        raise not_found(f"no subscriptions for job {job_id}")
    requested = req.requested()
    for sub in found[:limit]:
        req.add_group(GroupTag.SUBSCRIPTION, _select(_description(sub, req.printer_uri), requested))


@operation(
    Operation.RENEW_SUBSCRIPTION, attributes=("notify-subscription-id", "notify-lease-duration")
)
async def renew_subscription(req: Request) -> None:
    sub = _own(req)
    if sub.job_id is not None:
        raise IppStatusError(S.CLIENT_ERROR_NOT_POSSIBLE, "job subscriptions end with the job")
    lease = req.attr("notify-lease-duration", (T.INTEGER,), 3600)
    lease = min(max(int(lease), 0), MAX_LEASE) or MAX_LEASE
    req.gateway.subscriptions.renew(sub, lease)
    req.response.group(GroupTag.OPERATION).add(  # type: ignore[union-attr]
        "notify-lease-duration", lease, T.INTEGER
    )


@operation(Operation.CANCEL_SUBSCRIPTION, attributes=("notify-subscription-id",))
async def cancel_subscription(req: Request) -> None:
    sub = _own(req)
    req.gateway.subscriptions.cancel(sub.subscription_id)


def _event_group(req: Request, sub: Subscription, seq: int, event: Event) -> list[IppAttribute]:
    out = [
        IppAttribute("notify-subscription-id", [IppValue(T.INTEGER, sub.subscription_id)]),
        IppAttribute("notify-sequence-number", [IppValue(T.INTEGER, seq)]),
        IppAttribute("notify-subscribed-event", [IppValue(T.KEYWORD, event.name)]),
        IppAttribute("notify-text", [IppValue(T.TEXT, event.text[:1023])]),
        IppAttribute("notify-charset", [IppValue(T.CHARSET, "utf-8")]),
        IppAttribute("notify-natural-language", [IppValue(T.NATURAL_LANGUAGE, "en")]),
        IppAttribute("notify-printer-uri", [IppValue(T.URI, req.printer_uri)]),
        IppAttribute("printer-up-time", [IppValue(T.INTEGER, max(event.time, 1))]),
        IppAttribute("printer-name", [IppValue(T.NAME, event.queue)]),
    ]
    if sub.user_data is not None:
        out.append(IppAttribute("notify-user-data", [IppValue(T.OCTET_STRING, sub.user_data)]))
    if event.printer is not None:
        state = event.printer.printer_state.value if event.printer.printer_state else "idle"
        reasons = event.printer.printer_state_reasons or ["none"]
        out += [
            IppAttribute("printer-state", [IppValue(T.ENUM, PRINTER_STATES.get(state, 3))]),
            IppAttribute("printer-state-reasons", [IppValue(T.KEYWORD, r) for r in reasons]),
            IppAttribute(
                "printer-is-accepting-jobs",
                [IppValue(T.BOOLEAN, event.printer.printer_is_accepting_jobs is not False)],
            ),
        ]
    if event.job is not None:
        job = event.job
        out += [
            IppAttribute("notify-job-id", [IppValue(T.INTEGER, job.job_id)]),
            IppAttribute("job-id", [IppValue(T.INTEGER, job.job_id)]),
            IppAttribute("job-state", [IppValue(T.ENUM, JOB_STATES[job.job_state.value])]),
            IppAttribute(
                "job-state-reasons",
                [IppValue(T.KEYWORD, r) for r in (job.job_state_reasons or ["none"])],
            ),
            IppAttribute(
                "job-impressions-completed",
                [IppValue(T.INTEGER, job.job_impressions_completed or 0)],
            ),
        ]
    return out


@operation(
    Operation.GET_NOTIFICATIONS,
    attributes=("notify-subscription-ids", "notify-sequence-numbers", "notify-wait"),
)
async def get_notifications(req: Request) -> None:
    """Get-Notifications (RFC 3996 §5): the events after the given sequence numbers,
    waiting for the next one with notify-wait."""
    ids_attr = req.op.get("notify-subscription-ids")
    if ids_attr is None or any(int(v.tag) != T.INTEGER for v in ids_attr.values):
        raise bad_request("notify-subscription-ids (integers) is required")
    seq_attr = req.op.get("notify-sequence-numbers")
    sequences = [v.value for v in seq_attr.values] if seq_attr is not None else []
    if seq_attr is not None and any(int(v.tag) != T.INTEGER for v in seq_attr.values):
        raise bad_request("notify-sequence-numbers are integers")
    wait = bool(req.attr("notify-wait", (T.BOOLEAN,), False))
    subs: list[tuple[Subscription, int]] = []
    for index, value in enumerate(ids_attr.values):
        sub = req.gateway.subscriptions.get(value.value)
        if sub is None:
            raise not_found(f"no subscription {value.value}")
        if sub.owner != req.identity.owner and not req.identity.operator:
            raise IppStatusError(S.CLIENT_ERROR_NOT_AUTHORIZED, f"subscription {value.value}")
        subs.append((sub, sequences[index] if index < len(sequences) else 1))
    gateway = req.gateway
    deadline = gateway.clock() + gateway.settings.notify_wait_max
    while True:
        found = [
            (s, seq, ev)
            for s, start in subs
            for seq, ev in gateway.subscriptions.events_after(s, start)
        ]
        remaining = deadline - gateway.clock()
        done = bool(subs) and all(s.job_done for s, _ in subs)
        if found or not wait or remaining <= 0 or done:
            break
        await gateway.subscriptions.wait(remaining)
    op = req.response.group(GroupTag.OPERATION)
    assert op is not None
    op.add("notify-get-interval", GET_INTERVAL, T.INTEGER)
    op.add("printer-up-time", max(gateway.now(), 1), T.INTEGER)
    for sub, seq, event in found:
        req.add_group(GroupTag.EVENT_NOTIFICATION, _event_group(req, sub, seq, event))
    if subs and all(s.job_done for s, _ in subs):
        req.response.code = S.SUCCESSFUL_OK_EVENTS_COMPLETE
