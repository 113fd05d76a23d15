"""IPP status errors, and the one mapping from the service's errors to IPP status codes.

Operation handlers raise ``IppStatusError`` (or let a ``CloudImagingError`` from the
client library through); ``gateway.operations.dispatch`` is the one boundary that turns
either into an IPP response with the status code and a status-message.
"""

from __future__ import annotations

from ipp.codec import IppAttribute
from ipp.constants import StatusCode
from stanzas.errors import CloudImagingError

S = StatusCode


class IppStatusError(Exception):
    """An operation ends with a non-successful IPP status; ``unsupported`` attributes
    go back in the unsupported-attributes group (RFC 8011 §4.1.7)."""

    def __init__(
        self,
        status: StatusCode,
        message: str = "",
        unsupported: list[IppAttribute] | None = None,
    ) -> None:
        super().__init__(f"{status.keyword}: {message}" if message else status.keyword)
        self.status = status
        self.message = message or status.keyword
        self.unsupported = unsupported or []


def bad_request(message: str) -> IppStatusError:
    return IppStatusError(S.CLIENT_ERROR_BAD_REQUEST, message)


def not_found(message: str) -> IppStatusError:
    return IppStatusError(S.CLIENT_ERROR_NOT_FOUND, message)


def not_supported(message: str) -> IppStatusError:
    return IppStatusError(S.SERVER_ERROR_OPERATION_NOT_SUPPORTED, message)


#: The service's statuses are IPP keywords already; these are the ones whose IPP
#: meaning differs when seen through the gateway.
_SPECIAL: dict[str, StatusCode] = {
    # The service has no "not-fetchable" for users; a client sees a conflict as not-possible.
    "client-error-not-fetchable": S.CLIENT_ERROR_NOT_POSSIBLE,
    # XMPP-level timeouts of the gateway's own session: the service is slow or away.
    "server-error-timeout": S.SERVER_ERROR_SERVICE_UNAVAILABLE,
}


def status_for(error: CloudImagingError) -> StatusCode:
    """The IPP status code of an error the service (or the client library) reported.
    Unknown keywords map to server-error-internal-error."""
    special = _SPECIAL.get(error.status)
    if special is not None:
        return special
    try:
        return StatusCode.from_keyword(error.status)
    except KeyError:
        return S.SERVER_ERROR_INTERNAL_ERROR
