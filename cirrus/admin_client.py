"""Administration over XMPP, for operators and administrators: the seeds' Table 2 and
Table 3 operations and the device operations, on a CirrusClient's session.

    async with CirrusClient(settings) as client:
        admin = AdminClient(client)
        await admin.call(PauseService(printer_name="office"), ServiceResponse)
        response, text = await admin.run("jobs", {"queue": "office"})

`run` takes a command declared in admin_commands/declarations.py (the same declarations the
chat bot and the ad-hoc commands serve) and returns the answer and its text.
"""

from __future__ import annotations

from typing import TypeVar

from admin_commands.declarations import BY_NAME, SERVICE_TYPE, Command, UsageError, Values, build
from admin_commands.render import Rendered
from cirrus.client import CirrusClient
from stanzas import admin_ops as ops
from stanzas.model import Payload

P = TypeVar("P", bound=Payload)


class AdminClient:
    def __init__(self, client: CirrusClient) -> None:
        self.client = client

    async def call(
        self, request: Payload, response_type: type[P], timeout: float | None = None
    ) -> P:
        """One operation; raises the service's CloudImagingError. `timeout` defaults to
        the client's request_timeout (and is cut by an enclosing time_limit())."""
        return await self.client.session.request(request, response_type, timeout)

    async def run(self, command: Command | str, values: Values) -> tuple[Payload, Rendered]:
        """A declared command: its answer, and the answer as text."""
        if isinstance(command, str):
            if command not in BY_NAME:
                raise UsageError(f"no command {command!r}")
            command = BY_NAME[command]
        if command.targets_queue and isinstance(values.get("queue"), str):
            # The queue's service (a scan queue's jobs are scan jobs): one look-up.
            found = [s for s in await self.services() if s.printer_name == values["queue"]]
            if found:
                values = {**values, SERVICE_TYPE: found[0].service_type.value}
        response = await self.call(build(command, values), command.response)
        return response, command.render(response)

    # --- the ones scripts use most ------------------------------------------------------
    async def services(self) -> list[ops.ServiceSummary]:
        response = await self.call(ops.ListAllServices(), ops.ServicesResponse)
        return [s for s in response.service if s.service_type.is_job_service]

    async def service(self, queue: str) -> ops.ServiceSummary:
        for summary in await self.services():
            if summary.printer_name == queue:
                return summary
        raise KeyError(queue)

    async def devices(self) -> list[ops.DeviceSummary]:
        return (await self.call(ops.ListDevices(), ops.ListDevicesResponse)).device
