"""Domain errors carrying a PWG/IPP status, and their XMPP stanza-error form.

Handlers raise these; exactly one boundary (the dispatch of server.transport.component
for the service, stanzas.transport for clients) turns them into or out of XMPP <error/>
elements.
"""

from __future__ import annotations

from typing import ClassVar


class CloudImagingError(Exception):
    """An operation failed with an IPP status (RFC 8011 §B) and a message for people."""

    status: ClassVar[str] = "server-error-internal-error"
    # Whether the request reached the service: True when the service itself answered
    # with this error (it got the request and refused it), False when it never got there
    # (sending it again is safe), None when nobody can tell (it may have been done).
    delivered: bool | None = True
    # The idempotency key of the request that failed (a CreateJob / PrintJob the client
    # library sent): sending that request again with this key never makes a second job.
    idempotency_key: str | None = None

    def __init__(
        self,
        message: str = "",
        *,
        job_ids: list[int] | None = None,
        delivered: bool | None = None,
    ) -> None:
        super().__init__(message or self.status)
        self.message = message or self.status
        # The jobs an all-or-nothing operation could not act on (CancelMy<Service>Jobs).
        self.job_ids = job_ids or []
        if delivered is not None:
            self.delivered = delivered


class BadRequest(CloudImagingError):
    status = "client-error-bad-request"


class NotAuthorized(CloudImagingError):
    status = "client-error-not-authorized"


class NotFound(CloudImagingError):
    status = "client-error-not-found"


class NotPossible(CloudImagingError):
    status = "client-error-not-possible"


class NotFetchable(CloudImagingError):
    status = "client-error-not-fetchable"


class AttributesNotSupported(CloudImagingError):
    status = "client-error-attributes-or-values-not-supported"


class DocumentFormatNotSupported(CloudImagingError):
    status = "client-error-document-format-not-supported"


class RequestEntityTooLarge(CloudImagingError):
    status = "client-error-request-entity-too-large"


class DocumentAccessError(CloudImagingError):
    status = "client-error-document-access-error"


class UriSchemeNotSupported(CloudImagingError):
    status = "client-error-uri-scheme-not-supported"


class OperationNotSupported(CloudImagingError):
    status = "server-error-operation-not-supported"


class NotAcceptingJobs(CloudImagingError):
    status = "server-error-not-accepting-jobs"


class ServiceUnavailable(CloudImagingError):
    status = "server-error-service-unavailable"


class InternalError(CloudImagingError):
    status = "server-error-internal-error"


class Timeout(CloudImagingError):
    status = "server-error-timeout"


# What a requester raises itself when the service's answer cannot come. They keep the IPP
# status of their base class (gateways and scripts map them as before) and say whether
# the request was delivered.


class NotDelivered(ServiceUnavailable):
    """The request never reached the service: this side was not connected, or the XMPP
    server bounced it (the service was not connected to it). Nothing was done."""

    delivered = False


class OutcomeUnknown(ServiceUnavailable):
    """The request was sent, but this side's connection or the service went away (the
    service restarted, or the XMPP server said it is gone) before the answer: it may or
    may not have been carried out."""

    delivered = None


class NoAnswer(Timeout, TimeoutError):
    """No answer within the time-out. Sent and unanswered, the outcome is unknown
    (delivered None); a time-out that ran out before the request left says
    delivered=False. Also a TimeoutError, for code that waits with asyncio's."""

    delivered = None


class WaitTimeout(Timeout, TimeoutError):
    """A job did not reach the state waited for in time; the job itself carries on."""


# IPP status -> (XMPP defined condition, error type). RFC 6120 §8.3.3.
XMPP_CONDITIONS: dict[str, tuple[str, str]] = {
    BadRequest.status: ("bad-request", "modify"),
    NotAuthorized.status: ("forbidden", "auth"),
    NotFound.status: ("item-not-found", "cancel"),
    NotPossible.status: ("not-allowed", "cancel"),
    NotFetchable.status: ("conflict", "cancel"),
    AttributesNotSupported.status: ("not-acceptable", "modify"),
    DocumentFormatNotSupported.status: ("not-acceptable", "modify"),
    RequestEntityTooLarge.status: ("policy-violation", "modify"),
    DocumentAccessError.status: ("not-acceptable", "cancel"),
    UriSchemeNotSupported.status: ("not-acceptable", "modify"),
    OperationNotSupported.status: ("feature-not-implemented", "cancel"),
    NotAcceptingJobs.status: ("not-allowed", "wait"),
    ServiceUnavailable.status: ("service-unavailable", "wait"),
    InternalError.status: ("internal-server-error", "wait"),
    Timeout.status: ("remote-server-timeout", "wait"),
}

ERRORS_BY_STATUS: dict[str, type[CloudImagingError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        NotAuthorized,
        NotFound,
        NotPossible,
        NotFetchable,
        AttributesNotSupported,
        DocumentFormatNotSupported,
        RequestEntityTooLarge,
        DocumentAccessError,
        UriSchemeNotSupported,
        OperationNotSupported,
        NotAcceptingJobs,
        ServiceUnavailable,
        InternalError,
        Timeout,
    )
}

# When a peer answers with a plain XMPP error (no ipp-status), the closest IPP status.
# The service puts an ipp-status in every error of its own, so a plain one came from the
# XMPP server, which could not deliver the request (stanzas/transport.py _UNDELIVERABLE):
# ejabberd's `forbidden` for a component that is not connected means the service was
# not reached, not that the caller may not.
STATUS_BY_CONDITION: dict[str, str] = {
    "bad-request": BadRequest.status,
    "forbidden": ServiceUnavailable.status,
    "not-authorized": NotAuthorized.status,
    "item-not-found": NotFound.status,
    "not-allowed": NotPossible.status,
    "conflict": NotFetchable.status,
    "not-acceptable": AttributesNotSupported.status,
    "feature-not-implemented": OperationNotSupported.status,
    "service-unavailable": ServiceUnavailable.status,
    "recipient-unavailable": ServiceUnavailable.status,
    "remote-server-not-found": ServiceUnavailable.status,
    "internal-server-error": InternalError.status,
    "remote-server-timeout": Timeout.status,
    "policy-violation": BadRequest.status,
}


def xmpp_condition(status: str) -> tuple[str, str]:
    """The XMPP (condition, type) for an IPP status; unknown ones are internal errors."""
    return XMPP_CONDITIONS.get(status, ("internal-server-error", "wait"))


def error_for(status: str, message: str, job_ids: list[int] | None = None) -> CloudImagingError:
    """Rebuild the domain error a peer reported."""
    cls = ERRORS_BY_STATUS.get(status)
    if cls is None:
        err = CloudImagingError(message, job_ids=job_ids)
        err.status = status  # type: ignore[misc]
        return err
    return cls(message, job_ids=job_ids)
