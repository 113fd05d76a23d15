"""Every administrative command, declared once: name, help, required role, typed
arguments, the request it sends and how its answer reads.

Three front ends serve these declarations and nothing else: the chat bot
(server/admin/chat.py), the XEP-0050 ad-hoc commands (server/admin/adhoc.py) and the
`cirrus admin` CLI (cirrus/admin_cli.py). A command is one operation of the protocol: the
in-service front ends call the operation's handler, the CLI sends it over XMPP, so the
service checks every request the same way whichever way it came.

This module depends on the wire protocol (stanzas/) only, so the CLI can import it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from admin_commands import render
from stanzas import admin_ops as a
from stanzas import client_ops as c
from stanzas import operating_ops as o
from stanzas.groups import QueueConfiguration
from stanzas.model import Payload, ipp_name


class Role(StrEnum):
    """Who may run a command (seed 001: "Access is reserved for Administrators or
    Operators"; Cirrus keeps configuration and lifecycle changes to administrators).
    A few commands are a user's own (releasing their held jobs at a device); the chat
    bot's commands for everyone who prints (admin_commands/user_commands.py) have the
    user role too, and are declared apart from the administrative ones."""

    USER = "user"  # every user of the domain (the operation checks what is theirs)
    OPERATOR = "operator"  # operators and administrators
    ADMIN = "admin"  # administrators only


class Kind(StrEnum):
    """How an argument is typed in and what it becomes."""

    QUEUE = "queue"  # a queue (printer-name)
    JOB = "job"  # a job id
    JOBS = "jobs"  # job ids
    DEVICE = "device"  # a device, by its name
    TIME = "time"  # HH:MM, +30m, +2h, an ISO date and time, or epoch seconds
    FLAG = "flag"  # a word that is present or not (paused, not-accepting)
    SETTINGS = "settings"  # name=value pairs; name= alone removes the element
    EVENTS = "events"  # alert events, or on / off
    LINK = "link"  # a link to a file (a URL), as a chat client shares one
    NAME = "name"  # a word: a user's bare JID, group:NAME, a group's name, a file name
    JIDS = "jids"  # bare JIDs (accounts)
    COUNT = "count"  # a number, 0 or more
    CHOICE = "choice"  # one of the argument's choices


@dataclass(frozen=True)
class Arg:
    name: str
    kind: Kind
    help: str
    required: bool = True
    keyword: str | None = None  # typed after this word in chat: promote 7 after 5
    choices: tuple[str, ...] = ()  # Kind.CHOICE: the words it takes


Values = dict[str, Any]


class Declared:
    """What help and parse_words need of a command, administrative or a user's
    (admin_commands/user_commands.py): its name and arguments, and its usage lines."""

    name: str
    args: tuple[Arg, ...]

    @property
    def usage(self) -> str:
        parts = [self.name]
        for arg in self.args:
            word = _usage_word(arg, "EVENT…|on|off")
            parts.append(word if arg.required else f"[{word}]")
        return " ".join(parts)

    @property
    def short_usage(self) -> str:
        """The name and the arguments it cannot do without: `help`'s short form."""
        words = [self.name]
        for arg in self.args:
            if arg.required and arg.kind != Kind.FLAG:
                words.append(_usage_word(arg, "EVENT…"))
        return " ".join(words)


@dataclass(frozen=True)
class Command(Declared):
    name: str
    summary: str  # one line: help lists, the ad-hoc menu, the CLI
    role: Role
    build: Callable[[Values], Payload]  # the request, from typed values
    response: type[Payload]
    render: Callable[[Any], render.Rendered]
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    example: str = ""

    @property
    def targets_queue(self) -> bool:
        return bool(self.args) and self.args[0].kind == Kind.QUEUE


def _usage_word(arg: Arg, events: str) -> str:
    """How an argument is shown in a usage line (`events`: the events' placeholder)."""
    word = {
        Kind.FLAG: arg.name,
        Kind.SETTINGS: "NAME=VALUE…",
        Kind.JOBS: "ID…",
        Kind.EVENTS: events,
        Kind.JIDS: "JID…",
    }.get(arg.kind, arg.name.upper())
    return f"{arg.keyword} {word}" if arg.keyword else word


class UsageError(ValueError):
    """A command typed wrongly; the text says how to type it."""


# --- typed values ------------------------------------------------------------------------


def parse_time(text: str, now: float | None = None) -> int:
    """HH:MM (the next such local time), +30m / +2h / +45s, an ISO date-time, or epoch."""
    now = time.time() if now is None else now
    text = text.strip()
    if re.fullmatch(r"\d{9,}", text):
        return int(text)
    relative = re.fullmatch(r"\+(\d+)([smhd])", text)
    if relative:
        unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[relative.group(2)]
        return int(now) + int(relative.group(1)) * unit
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if clock:
        base = datetime.fromtimestamp(now)
        at = base.replace(hour=int(clock.group(1)), minute=int(clock.group(2)), second=0)
        if at.timestamp() <= now:
            at += timedelta(days=1)
        return int(at.timestamp())
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        raise UsageError(f"{text!r} is not a time (HH:MM, +30m, 2025-01-31T18:00)") from None


def events(words: list[str]) -> list[a.AlertEvent]:
    if words == ["on"]:
        return list(a.AlertEvent)
    if words in (["off"], ["none"]):
        return []
    try:
        return [a.AlertEvent(w) for w in words]
    except ValueError:
        known = ", ".join(e.value for e in a.AlertEvent)
        raise UsageError(f"alert events are {known}, or on / off") from None


# --- Set<Service>ServiceElements and SetSystemElements from name=value ---------------------

_DESCRIPTION = ("printer-info", "printer-location")
_CONFIGURATION = tuple(  # the scalar ones: a default job ticket is not typed as NAME=VALUE
    ipp_name(n) for n in QueueConfiguration.model_fields if n != "default_job_ticket"
)
SERVICE_SETTINGS = (*_DESCRIPTION, "auto-approve-devices", *_CONFIGURATION)
SYSTEM_SETTINGS = ("system-name", "system-info", "system-location", "auto-approve-devices")


def _split(pairs: dict[str, str], known: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    unknown = [n for n in pairs if n not in known]
    if unknown:
        raise UsageError(f"cannot set {', '.join(unknown)}; settable: {', '.join(known)}")
    return {n: v for n, v in pairs.items() if v != ""}, [n for n, v in pairs.items() if v == ""]


def _value(name: str, text: str, model: type[Any]) -> Any:
    info = model.model_fields[name.replace("-", "_")]
    kind = render.scalar_kind(info.annotation)
    if kind is bool:
        if text.lower() not in ("true", "false", "yes", "no", "on", "off"):
            raise UsageError(f"{name} is true or false")
        return text.lower() in ("true", "yes", "on")
    if kind is list:
        return text.replace(",", " ").split()
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{name} is a number") from None
    return text


def set_service(values: Values) -> a.SetServiceElements:
    given, deleted = _split(values.get("settings") or {}, SERVICE_SETTINGS)
    description = {n: v for n, v in given.items() if n in _DESCRIPTION}
    config = {n: _value(n, v, QueueConfiguration) for n, v in given.items() if n in _CONFIGURATION}
    policy = (
        a.DevicePolicy(
            auto_approve_devices=_value(
                "auto-approve-devices", given["auto-approve-devices"], a.DevicePolicy
            )
        )
        if "auto-approve-devices" in given
        else None
    )
    return a.SetServiceElements(
        printer_name=values["queue"],
        description=a.DescriptionChange.model_validate(description) if description else None,
        configuration=QueueConfiguration.model_validate(config) if config else None,
        device_policy=policy,
        delete_elements=deleted or None,
    )


def set_system(values: Values) -> a.SetSystemElements:
    given, deleted = _split(values.get("settings") or {}, SYSTEM_SETTINGS)
    description = {n: v for n, v in given.items() if n.startswith("system-")}
    config = (
        a.SystemConfiguration(
            auto_approve_devices=_value(
                "auto-approve-devices", given["auto-approve-devices"], a.SystemConfiguration
            )
        )
        if "auto-approve-devices" in given
        else None
    )
    return a.SetSystemElements(
        system_description=a.SystemDescription.model_validate(description) if description else None,
        system_configuration=config,
        delete_elements=deleted or None,
    )


# --- usage and quotas ------------------------------------------------------------------------


def get_usage(values: Values) -> o.GetUsage:
    return o.GetUsage(
        since=parse_time(values["since"]) if values.get("since") else None,
        until=parse_time(values["until"]) if values.get("until") else None,
        usage_by=o.UsageBy(values.get("by") or "user"),
    )


def subject(text: str) -> tuple[o.SubjectKind, str]:
    """alice@example.org is a user, group:staff a group."""
    if text.startswith("group:"):
        return o.SubjectKind.GROUP, text.removeprefix("group:")
    return o.SubjectKind.USER, text


def set_quota(values: Values) -> o.SetQuota:
    kind, name = subject(values["subject"])
    if values.get("jobs") is None and values.get("impressions") is None:
        raise UsageError("give jobs N, impressions N or both")
    return o.SetQuota(
        subject_kind=kind,
        subject=name,
        printer_name=values.get("queue"),
        quota_period=o.QuotaPeriod(values["period"]),
        job_limit=values.get("jobs"),
        impression_limit=values.get("impressions"),
    )


def delete_quota(values: Values) -> o.DeleteQuota:
    kind, name = subject(values["subject"])
    period = values.get("period")
    return o.DeleteQuota(
        subject_kind=kind,
        subject=name,
        printer_name=values.get("queue"),
        quota_period=o.QuotaPeriod(period) if period else None,
    )


# --- the declarations ------------------------------------------------------------------------

QUEUE = Arg("queue", Kind.QUEUE, "the queue (printer-name)")
JOB = Arg("job", Kind.JOB, "the job id")
DEVICE = Arg("device", Kind.DEVICE, "the device, by its name (cirrus admin devices)")
GROUP = Arg("group", Kind.NAME, "the group's name (a keyword: finance, floor-2 …)")
PAUSED = Arg("paused", Kind.FLAG, "start paused (stopped)", required=False)
NOT_ACCEPTING = Arg("not-accepting", Kind.FLAG, "do not accept jobs", required=False)
OP, AD = Role.OPERATOR, Role.ADMIN
SUBJECT = Arg("subject", Kind.NAME, "a user's bare JID, or group:NAME")
PERIOD = Arg("period", Kind.CHOICE, "when it resets", choices=tuple(p.value for p in o.QuotaPeriod))
PERIOD_OPTIONAL = Arg(
    "period",
    Kind.CHOICE,
    "only this period's",
    False,
    choices=tuple(p.value for p in o.QuotaPeriod),
)
ON_QUEUE = Arg("queue", Kind.QUEUE, "only this queue (default: all)", False, keyword="queue")
CSV = Arg("csv", Kind.FLAG, "comma-separated values instead of a table", required=False)


def _queue_op(cls: type[a.ServiceRequest]) -> Callable[[Values], Payload]:
    return lambda v: cls(printer_name=v["queue"])


def _one_queue(name: str, summary: str, cls: type[a.ServiceRequest], example: str = "") -> Command:
    """A command that changes one queue by name and shows it."""
    return Command(
        name,
        summary,
        OP,
        _queue_op(cls),
        a.ServiceResponse,
        render.service,
        args=(QUEUE,),
        example=example,
    )


def _every_queue(
    name: str,
    summary: str,
    role: Role,
    build: Callable[[Values], Payload],
    args: tuple[Arg, ...] = (),
) -> Command:
    """A command that changes every queue (Table 3's …AllServices) and lists them."""
    return Command(name, summary, role, build, a.ServicesResponse, render.services, args=args)


def _all_op(cls: type[a.AllServicesRequest]) -> Callable[[Values], Payload]:
    return lambda v: cls()


def _restart(cls: type[Any], paused_field: str = "start_service_paused") -> Any:
    def build(v: Values) -> Payload:
        options: dict[str, Any] = {
            "is_accepting_jobs": False if v.get("not-accepting") else None,
            paused_field: True if v.get("paused") else None,
        }
        if "queue" in v:
            options["service_type"] = a.AnyServiceType.PRINT
            options["printer_name"] = v["queue"]
        return cls(**options)

    return build


COMMANDS: tuple[Command, ...] = (
    # --- a user's own ----------------------------------------------------------------------
    Command(
        "release",
        "print your held jobs at a device (all, or those named)",
        Role.USER,
        lambda v: c.ReleaseJobs(output_device=v["at"], job_ids=v.get("jobs") or None),
        c.ReleaseJobsResponse,
        render.released,
        args=(
            Arg("jobs", Kind.JOBS, "job ids (default: every one of yours held)", required=False),
            Arg("at", Kind.DEVICE, "the device to print at", keyword="at"),
        ),
        example="release 12 at lobby",
    ),
    # --- looking -------------------------------------------------------------------------
    Command(
        "status",
        "the service as a whole: state, counts, settings",
        OP,
        lambda v: a.GetSystemElements(),
        a.SystemElementsResponse,
        render.system_elements,
    ),
    Command(
        "queues",
        "every queue with its state, reasons and device",
        OP,
        lambda v: a.ListAllServices(),
        a.ServicesResponse,
        render.services,
        aliases=("services", "ls"),
    ),
    Command(
        "jobs",
        "a queue's jobs that have not ended, in printing order",
        OP,
        lambda v: c.GetActiveJobs(printer_name=v["queue"]),
        c.JobList,
        render.job_list,
        args=(QUEUE,),
        example="jobs office",
    ),
    Command(
        "job",
        "one job in detail",
        OP,
        lambda v: c.GetJobElements(job_id=v["job"]),
        c.GetJobElementsResponse,
        render.job_elements,
        args=(JOB,),
        example="job 42",
    ),
    Command(
        "devices",
        "every device (or a queue's): queues, jobs, status",
        OP,
        lambda v: a.ListDevices(printer_name=v.get("queue")),
        a.ListDevicesResponse,
        render.devices,
        args=(Arg("queue", Kind.QUEUE, "only this queue's devices", required=False),),
        example="devices office",
    ),
    Command(
        "device",
        "one device with the capabilities it reported",
        OP,
        lambda v: a.GetDevice(printer_name=v["device"]),
        a.DeviceResponse,
        render.device,
        args=(DEVICE,),
        example="device office",
    ),
    # --- jobs ----------------------------------------------------------------------------
    Command(
        "cancel",
        "cancel one job (job-canceled-by-operator)",
        OP,
        lambda v: c.CancelJob(job_id=v["job"]),
        c.CancelJobResponse,
        render.job_response,
        args=(JOB,),
        example="cancel 42",
    ),
    Command(
        "cancel-jobs",
        "cancel a queue's jobs, named or all (all or nothing)",
        OP,
        lambda v: a.CancelJobs(printer_name=v["queue"], job_ids=v.get("jobs") or None),
        a.CancelJobsResponse,
        render.cancel_jobs,
        args=(QUEUE, Arg("jobs", Kind.JOBS, "job ids (default: every job)", required=False)),
        example="cancel-jobs office 41 42",
    ),
    Command(
        "promote",
        "print a pending job next, or right after another job",
        OP,
        lambda v: a.PromoteJob(job_id=v["job"], predecessor_job_id=v.get("after")),
        a.PromoteJobResponse,
        render.promote,
        args=(JOB, Arg("after", Kind.JOB, "the job it follows", required=False, keyword="after")),
        example="promote 44 after 41",
    ),
    Command(
        "resume-job",
        "resume a suspended job",
        OP,
        lambda v: c.ResumeJob(job_id=v["job"]),
        c.JobResponse,
        render.job_response,
        args=(JOB,),
        example="resume-job 42",
    ),
    # --- one queue -----------------------------------------------------------------------
    _one_queue(
        "pause",
        "hand out no more jobs (those at a device finish)",
        a.PauseService,
        "pause office",
    ),
    _one_queue(
        "pause-after", "pause once the jobs at the device are done", a.PauseServiceAfterCurrentJob
    ),
    _one_queue("resume", "hand out jobs again", a.ResumeService, "resume office"),
    _one_queue("disable", "stop accepting new jobs (queued jobs still print)", a.DisableService),
    _one_queue("enable", "accept new jobs again", a.EnableService),
    Command(
        "hold-new",
        "hold every new job until release-new (or until a time)",
        OP,
        lambda v: a.HoldNewJobs(
            printer_name=v["queue"],
            job_hold_until_time=parse_time(v["until"]) if v.get("until") else None,
        ),
        a.ServiceResponse,
        render.service,
        args=(QUEUE, Arg("until", Kind.TIME, "when to release them", required=False)),
        example="hold-new office 18:00",
    ),
    _one_queue("release-new", "release the jobs hold-new held, and stop holding", a.ReleaseNewJobs),
    Command(
        "restart",
        "restart a queue, even a shut-down one (jobs are kept)",
        OP,
        _restart(a.RestartService),
        a.ServiceResponse,
        render.service,
        args=(QUEUE, PAUSED, NOT_ACCEPTING),
        example="restart office paused",
    ),
    Command(
        "shutdown",
        "shut a queue down (only restart then works); jobs kept",
        OP,
        lambda v: a.ShutdownService(service_type=a.AnyServiceType.PRINT, printer_name=v["queue"]),
        a.ServiceResponse,
        render.service,
        args=(QUEUE,),
    ),
    Command(
        "startup",
        "create a queue, or start a shut-down one",
        AD,
        _restart(a.StartupService),
        a.ServiceResponse,
        render.service,
        args=(QUEUE, PAUSED, NOT_ACCEPTING),
        example="startup lobby",
    ),
    Command(
        "delete",
        "delete a shut-down queue with all its jobs",
        AD,
        lambda v: a.DeleteService(service_type=a.AnyServiceType.PRINT, printer_name=v["queue"]),
        a.DeleteServiceResponse,
        render.deleted,
        args=(QUEUE,),
    ),
    Command(
        "set",
        "set a queue's elements (NAME= removes one)",
        AD,
        set_service,
        a.ServiceResponse,
        render.service,
        args=(
            QUEUE,
            Arg("settings", Kind.SETTINGS, "NAME=VALUE pairs of " + ", ".join(SERVICE_SETTINGS)),
        ),
        example='set office printer-location="2nd floor" auto-approve-devices=true',
    ),
    # --- every queue ---------------------------------------------------------------------
    _every_queue("pause-all", "pause every queue", OP, _all_op(a.PauseAllServices)),
    _every_queue(
        "pause-all-after",
        "pause every queue once the jobs at its device are done",
        OP,
        _all_op(a.PauseAllServicesAfterCurrentJob),
    ),
    _every_queue("resume-all", "resume every queue", OP, _all_op(a.ResumeAllServices)),
    _every_queue("disable-all", "no queue accepts new jobs", OP, _all_op(a.DisableAllServices)),
    _every_queue("enable-all", "every queue accepts new jobs", OP, _all_op(a.EnableAllServices)),
    _every_queue(
        "restart-all",
        "restart every queue",
        AD,
        _restart(a.RestartAllServices),
        (PAUSED, NOT_ACCEPTING),
    ),
    _every_queue(
        "startup-all",
        "start every shut-down queue",
        AD,
        _restart(a.StartupAllServices, "start_system_paused"),
        (PAUSED, NOT_ACCEPTING),
    ),
    _every_queue("shutdown-all", "shut every queue down", AD, _all_op(a.ShutdownAllServices)),
    Command(
        "restart-system",
        "restart the System Control Service (devices resync)",
        AD,
        lambda v: a.RestartService(service_type=a.AnyServiceType.SYSTEM),
        a.ServiceResponse,
        render.service,
    ),
    Command(
        "set-system",
        "set the service's elements (NAME= removes one)",
        AD,
        set_system,
        a.SystemElementsResponse,
        render.system_elements,
        args=(Arg("settings", Kind.SETTINGS, "NAME=VALUE pairs of " + ", ".join(SYSTEM_SETTINGS)),),
        example='set-system system-location="Building 2"',
    ),
    # --- devices and alerts --------------------------------------------------------------
    Command(
        "pause-device",
        "hand one device no new work (its queues go on)",
        OP,
        lambda v: a.PauseDevice(printer_name=v["device"]),
        a.DeviceResponse,
        render.device,
        args=(DEVICE,),
        example="pause-device lobby",
    ),
    Command(
        "resume-device",
        "offer a paused device work again",
        OP,
        lambda v: a.ResumeDevice(printer_name=v["device"]),
        a.DeviceResponse,
        render.device,
        args=(DEVICE,),
        example="resume-device lobby",
    ),
    Command(
        "add-device",
        "a device serves this queue too (its other queues stay)",
        AD,
        lambda v: a.AddDeviceToQueue(printer_name=v["queue"], device_name=v["device"]),
        a.DeviceResponse,
        render.device,
        args=(QUEUE, DEVICE),
        example="add-device office lobby",
    ),
    Command(
        "drop-device",
        "a device stops serving this queue (its jobs finish)",
        AD,
        lambda v: a.RemoveDeviceFromQueue(printer_name=v["queue"], device_name=v["device"]),
        a.DeviceResponse,
        render.device,
        args=(QUEUE, DEVICE),
        example="drop-device office lobby",
    ),
    Command(
        "enroll",
        "a one-time code that enrols a device in a queue",
        AD,
        lambda v: a.IssueEnrollmentCode(
            printer_name=v["queue"],
            time_expires=parse_time(v["expires"]) if v.get("expires") else None,
        ),
        a.IssueEnrollmentCodeResponse,
        render.enrollment_code,
        args=(
            QUEUE,
            Arg("expires", Kind.TIME, "when the code expires (default: in 24 h)", required=False),
        ),
        aliases=("enrol",),
        example="enroll lobby +2h",
    ),
    Command(
        "approve",
        "serve a device that awaits approval",
        AD,
        lambda v: a.ApproveDevice(printer_name=v["device"]),
        a.DeviceResponse,
        render.device,
        args=(DEVICE,),
        example="approve office",
    ),
    Command(
        "deregister",
        "deny a pending device or deregister one (jobs go back)",
        AD,
        lambda v: a.RemoveDevice(printer_name=v["device"]),
        a.DeviceResponse,
        render.device,
        args=(DEVICE,),
        aliases=("deny",),
    ),
    # --- usage and quotas ---------------------------------------------------------------
    Command(
        "usage",
        "what the jobs that ended used, by user, queue or group",
        OP,
        get_usage,
        o.UsageResponse,
        render.usage,
        args=(
            Arg("since", Kind.TIME, "from (default: this month's start)", False, keyword="since"),
            Arg("until", Kind.TIME, "to (default: now)", False, keyword="until"),
            Arg(
                "by",
                Kind.CHOICE,
                "one row per user, queue or group (default: user)",
                False,
                keyword="by",
                choices=tuple(b.value for b in o.UsageBy),
            ),
            CSV,
        ),
        example="usage since 2025-06-01 by queue",
    ),
    Command(
        "quotas",
        "every quota and how much of it this period has used",
        OP,
        lambda v: o.GetQuotas(),
        o.QuotasResponse,
        render.quotas,
        args=(CSV,),
    ),
    Command(
        "quota",
        "cap a user's or group's jobs or impressions per period",
        AD,
        set_quota,
        o.QuotasResponse,
        render.quotas,
        args=(
            SUBJECT,
            PERIOD,
            Arg("jobs", Kind.COUNT, "at most this many jobs", False, keyword="jobs"),
            Arg("impressions", Kind.COUNT, "at most this many impressions", False, "impressions"),
            ON_QUEUE,
        ),
        example="quota group:staff monthly impressions 2000",
    ),
    Command(
        "quota-remove",
        "remove quotas (every period's unless one is named)",
        AD,
        delete_quota,
        o.QuotasResponse,
        render.quotas,
        args=(SUBJECT, PERIOD_OPTIONAL, ON_QUEUE),
        example="quota-remove alice@example.org monthly",
    ),
    Command(
        "backup",
        "back the service up, online, into its backup folder",
        AD,
        lambda v: o.Backup(backup_name=v["file"]),
        o.BackupResponse,
        render.backup,
        args=(Arg("file", Kind.NAME, "a file name (no folders) in the service's backup_dir"),),
        example="backup cirrus-2025-06-30.tar",
    ),
    Command(
        "groups",
        "the groups of users that queue permissions name",
        OP,
        lambda v: a.ListGroups(),
        a.GroupsResponse,
        render.groups,
    ),
    Command(
        "group-add",
        "add accounts to a group (made if it is new)",
        AD,
        lambda v: a.AddGroupMembers(group_name=v["group"], members=v["jids"]),
        a.GroupsResponse,
        render.groups,
        args=(GROUP, Arg("jids", Kind.JIDS, "the accounts (bare JIDs)")),
        example="group-add finance alice@example.com bob@example.com",
    ),
    Command(
        "group-remove",
        "take accounts out of a group (none named: all)",
        AD,
        lambda v: a.RemoveGroupMembers(group_name=v["group"], members=v.get("jids") or None),
        a.GroupsResponse,
        render.groups,
        args=(GROUP, Arg("jids", Kind.JIDS, "the accounts (default: all)", required=False)),
        example="group-remove finance bob@example.com",
    ),
    Command(
        "alerts",
        "alerts: device-offline, job-aborted, queue-stopped",
        OP,
        lambda v: a.SetAlertSubscription(alert_events=events(v["events"])),
        a.AlertSubscriptionResponse,
        render.alerts,
        args=(Arg("events", Kind.EVENTS, "which alerts, or on (all) or off"),),
        example="alerts on",
    ),
)

BY_NAME: dict[str, Command] = {
    **{alias: cmd for cmd in COMMANDS for alias in cmd.aliases},
    **{cmd.name: cmd for cmd in COMMANDS},
}


SERVICE_TYPE = "service-type"  # the named queue's service, filled in by the runner


def build(command: Command, values: Values) -> Payload:
    """The command's request, or UsageError when a value does not fit the protocol.
    A request naming a queue gets the queue's service type when the runner looked it
    up (values[SERVICE_TYPE]): `jobs scanner` is a scan queue's GetActiveJobs."""
    try:
        request = command.build(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:3]:
            where = "/".join(str(p).replace("_", "-") for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise UsageError("; ".join(problems)) from None
    service = values.get(SERVICE_TYPE)
    current = getattr(request, "service_type", None)
    if service and current is not None and getattr(request, "printer_name", None):
        # ServiceType or AnyServiceType, whichever the request's field takes
        request = request.model_copy(update={"service_type": type(current)(service)})
    return request


def may_run(command: Command, *, operator: bool, admin: bool) -> bool:
    return admin or command.role == Role.USER or (operator and command.role == Role.OPERATOR)


@dataclass
class Parsed:
    command: Command
    values: Values = field(default_factory=dict)


def to_value(arg: Arg, word: str) -> Any:
    if arg.kind in (Kind.JOB, Kind.JOBS):
        if not word.isdigit() or int(word) < 1:
            raise UsageError(f"{arg.name}: {word!r} is not a job id")
        return int(word)
    if arg.kind == Kind.COUNT:
        if not word.isdigit():
            raise UsageError(f"{arg.name}: {word!r} is not a number")
        return int(word)
    if arg.kind == Kind.CHOICE and word not in arg.choices:
        raise UsageError(f"{arg.name} is one of {', '.join(arg.choices)}, not {word!r}")
    return word


def parse_words(command: Declared, words: list[str]) -> Values:
    """The typed values of a command's arguments, from the words after its name (the chat
    bot's syntax: positional in order, flags by name, 'after ID', NAME=VALUE)."""
    values: Values = {}
    flags = {arg.name: arg for arg in command.args if arg.kind == Kind.FLAG}
    keywords = {arg.keyword: arg for arg in command.args if arg.keyword}
    settings = next((arg for arg in command.args if arg.kind == Kind.SETTINGS), None)
    slots = [
        arg
        for arg in command.args
        if arg.kind not in (Kind.FLAG, Kind.SETTINGS) and arg.keyword is None
    ]
    rest = iter(words)
    for word in rest:
        if word in flags:
            values[word] = True
        elif word in keywords:
            arg = keywords[word]
            following = next(rest, None)
            if following is None:
                raise UsageError(f"'{word}' needs a value: {command.usage}")
            values[arg.name] = to_value(arg, following)
        elif settings is not None and "=" in word:
            name, _, value = word.partition("=")
            values.setdefault(settings.name, {})[name] = value
        elif slots and slots[0].kind in (Kind.JOBS, Kind.EVENTS, Kind.JIDS):
            values.setdefault(slots[0].name, []).append(to_value(slots[0], word))
        elif slots:
            values[slots[0].name] = to_value(slots[0], word)
            slots.pop(0)
        else:
            raise UsageError(f"unexpected {word!r}: {command.usage}")
    missing = [
        arg.name
        for arg in command.args
        if arg.required and arg.name not in values and arg.kind != Kind.FLAG
    ]
    if missing:
        raise UsageError(f"missing {', '.join(missing)}: {command.usage}")
    return values
