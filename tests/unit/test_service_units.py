"""The small decisions of the other services: which flow a device gets, how a scan job's
ticket becomes the scanner's, which destinations an email may go to."""

from __future__ import annotations

import pytest

from manager.app import service_of
from manager.config import DeviceSettings, ManagerSettings
from manager.drivers.scanner import ScannerCapabilities
from manager.drivers.smtp import mailto_addresses
from manager.scan_worker import scan_ticket, scanner_capabilities
from stanzas.groups import JobTicket
from stanzas.states import ServiceType

UUID = "urn:uuid:6f1c2a9e-3b7d-4c1e-9a55-0d2b8e4f7a10"


@pytest.mark.parametrize(
    ("driver", "service", "expected"),
    [
        ("sane:test", None, ServiceType.SCAN),
        ("smtp:", None, ServiceType.EMAIL_OUT),
        ("ipp://127.0.0.1:631/ipp/print", None, ServiceType.PRINT),
        ("ipp://127.0.0.1:631/ipp/faxout", "faxout", ServiceType.FAX_OUT),
        ("sim:", "faxout", ServiceType.FAX_OUT),
    ],
)
def test_the_service_of_a_device(driver: str, service: str | None, expected: ServiceType) -> None:
    device = DeviceSettings(
        output_device_uuid=UUID, printer_name="q", driver=driver, service=service
    )  # type: ignore[arg-type]
    assert service_of(device) == expected


def test_a_scan_ticket_takes_the_scanners_defaults_for_what_it_leaves_out() -> None:
    caps = ScannerCapabilities(
        input_source_supported=("platen", "adf"),
        input_resolution_supported=(150, 300),
        input_source_default="platen",
        input_resolution_default=150,
    )
    ticket = scan_ticket(
        JobTicket(input_source="adf", media="iso_a4_210x297mm", number_of_pages=2), caps, "a b.pdf"
    )
    assert (ticket.input_source, ticket.input_resolution, ticket.number_of_pages) == ("adf", 150, 2)
    assert (ticket.width, ticket.height) == (21_000, 29_700)  # hundredths of a millimetre
    assert ticket.document_format == "application/pdf" and ticket.document_name == "a-b"
    plain = scan_ticket(JobTicket(), caps, "")
    assert (plain.width, plain.height, plain.document_name) == (None, None, "scan")


def test_scanner_capabilities_as_the_service_sees_them() -> None:
    element = scanner_capabilities(ScannerCapabilities(printer_make_and_model="Canon"))
    assert element.input_source_supported == ["platen"]
    assert element.document_format_supported == ["application/pdf"]
    assert element.print_color_mode_supported is None  # a scanner prints nothing


def test_mailto_addresses() -> None:
    assert mailto_addresses(
        ["mailto:a@b.example,c@d.example", "mailto:%22Bob%22%20%3Cbob@x.org%3E"]
    ) == [
        "a@b.example",
        "c@d.example",
        "bob@x.org",
    ]
    for bad in ("tel:+1555", "mailto:", "mailto:nobody", "http://a@b.example/"):
        with pytest.raises(ValueError):
            mailto_addresses([bad])


def test_an_empty_smtp_table_is_no_smtp_server() -> None:
    settings = ManagerSettings.model_validate(
        {
            "xmpp": {"jid": "m@localhost", "password": "x"},
            "state_dir": "/tmp/m",
            "devices": [{"output_device_uuid": UUID, "printer_name": "q", "driver": "sim:"}],
            "smtp": {},
        }
    )
    assert settings.smtp is None
