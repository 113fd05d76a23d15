"""The Cloud Imaging Device Manager: one XMPP session, one worker per device."""

from __future__ import annotations

import asyncio
import logging
import xml.etree.ElementTree as ET
from typing import Any

import manager.drivers as drivers_pkg
from manager.config import DeviceSettings, ManagerSettings
from manager.device_worker import DeviceWorker
from manager.drivers.base import DeviceDriver
from manager.drivers.scanner import ScanDriver
from manager.drivers.smtp import SmtpDriver
from manager.held_jobs import HeldJobs
from manager.metrics import ManagerMetrics
from manager.scan_worker import ScanWorker
from manager.transform import Transformer
from stanzas.device_ops import WorkNotification
from stanzas.errors import CloudImagingError
from stanzas.session import ComponentSession, ServiceSession, tls_context
from stanzas.states import ServiceType

log = logging.getLogger(__name__)


class ManagerApp:
    def __init__(
        self,
        settings: ManagerSettings,
        drivers: dict[str, DeviceDriver | ScanDriver] | None = None,
    ) -> None:
        """`drivers` may supply ready driver objects by output-device-uuid (tests do)."""
        self.settings = settings
        xmpp = settings.xmpp
        self.session: ServiceSession | ComponentSession
        if xmpp.component_jid:
            assert xmpp.secret, "component mode needs the component secret"
            self.session = ComponentSession(
                xmpp.component_jid,
                xmpp.secret,
                service_jid=xmpp.service_jid,
                host=xmpp.host,
                port=xmpp.port,
            )
        else:
            assert xmpp.jid and xmpp.password, "client mode needs jid and password"
            # A fixed resource, so the service's pushes keep reaching us across reconnects.
            jid = xmpp.jid if "/" in xmpp.jid else f"{xmpp.jid}/cirrus-manager"
            self.session = ServiceSession(
                jid,
                xmpp.password,
                service_jid=xmpp.service_jid,
                host=xmpp.host,
                port=xmpp.port,
                ca_file=xmpp.ca_file,
            )
        self.held = HeldJobs(settings.state_dir / "held-jobs.json")
        http_ssl = tls_context(xmpp.ca_file)
        self.workers: dict[str, DeviceWorker | ScanWorker] = {}
        for device in settings.devices:
            given = (drivers or {}).get(device.output_device_uuid)
            common: dict[str, Any] = {
                "output_device_uuid": device.output_device_uuid,
                "printer_name": device.printer_name,
                "session": self.session,
                "spool_dir": settings.state_dir / "spool",
                "http_ssl": http_ssl,
                "printer_info": device.printer_info,
                "printer_location": device.printer_location,
                "status_interval": settings.status_interval,
            }
            service = service_of(device)
            if service == ServiceType.SCAN:
                scanner = given or drivers_pkg.make_scan_driver(device.driver)
                assert isinstance(scanner, ScanDriver), f"{device.driver} is not a scanner"
                self.workers[device.output_device_uuid] = ScanWorker(driver=scanner, **common)
                continue
            driver = given or self._make_driver(device)
            assert isinstance(driver, DeviceDriver), f"{device.driver} does not take documents"
            transformer = (
                Transformer(settings.state_dir / "transform", timeout=settings.transform_timeout)
                if device.transform and service == ServiceType.PRINT
                else None
            )
            self.workers[device.output_device_uuid] = DeviceWorker(
                driver=driver,
                held=self.held,
                service_type=service,
                transformer=transformer,
                device_hold=settings.device_hold,
                **common,
            )
        self.synced = asyncio.Event()
        self._notification_order = asyncio.Lock()
        self.session.on_online.append(self._on_online)
        self.session.service_messages.append(self._on_message)
        self._acting: set[asyncio.Task[None]] = set()
        self.metrics = (
            ManagerMetrics(self, settings.metrics_port)
            if settings.metrics_port is not None
            else None
        )
        self.metrics_port: int | None = None  # where /metrics listens, once started

    def _make_driver(self, device: DeviceSettings) -> DeviceDriver:
        if device.driver.strip().lower().startswith("smtp:"):
            if self.settings.smtp is None:
                raise ValueError(f"{device.printer_name}: the smtp driver needs an [smtp] section")
            spool = self.settings.state_dir / "smtp" / device.output_device_uuid.rsplit(":", 1)[-1]
            return SmtpDriver(self.settings.smtp, spool)
        return drivers_pkg.make_driver(device.driver)

    async def start(self, timeout: float = 30.0) -> None:
        await asyncio.to_thread(Transformer(self.settings.state_dir / "transform").clear)
        if self.metrics is not None:
            self.metrics_port = self.metrics.start()
        for worker in self.workers.values():
            await worker.start()
        await self.session.start(timeout)

    async def stop(self) -> None:
        if self.metrics is not None:
            self.metrics.stop()
        await self.session.stop()
        for worker in self.workers.values():
            await worker.stop()
        await self.held.close()

    async def _on_online(self) -> None:
        """Seed 001: after power-up and after every reconnect, register and resync."""
        self.synced.clear()
        for worker in self.workers.values():
            try:
                response = await worker.register()
                log.info(
                    "%s registered as queue %s (%s)",
                    worker.uuid,
                    response.printer_name,
                    response.registration_state.value,
                )
                if response.registration_state == "approved":
                    await worker.resync()
            except CloudImagingError as exc:
                log.warning("registering %s failed: %s %s", worker.uuid, exc.status, exc.message)
        self.synced.set()

    def _on_message(self, element: ET.Element) -> None:
        try:
            note = WorkNotification.from_xml(element)
        except CloudImagingError as exc:
            log.warning("ignored a malformed work notification: %s", exc.message)
            return
        worker = self.workers.get(note.output_device_uuid)
        if worker is None:
            return
        task = asyncio.create_task(self._act_on(worker, note))
        self._acting.add(task)
        task.add_done_callback(self._acting.discard)

    async def _act_on(self, worker: DeviceWorker | ScanWorker, note: WorkNotification) -> None:
        try:
            # In arrival order: the tasks start, and so queue for the lock, in that order.
            async with self._notification_order:
                await worker.on_notification(note)
        except CloudImagingError as exc:
            log.warning("acting on a notification failed: %s %s", exc.status, exc.message)


def service_of(device: DeviceSettings) -> ServiceType:
    """The queue's service: as configured, else the driver's (sane scans, smtp sends
    email, everything else prints)."""
    if device.service is not None:
        return ServiceType(device.service)
    kind = device.driver.strip().partition(":")[0].lower()
    return {"sane": ServiceType.SCAN, "smtp": ServiceType.EMAIL_OUT}.get(kind, ServiceType.PRINT)
