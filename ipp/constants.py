"""IPP constants: delimiter and value tags (RFC 8010 §3.5), operation ids, status codes
and the enum values of the attributes Cirrus uses (RFC 8011 and PWG extensions).

Names follow the IPP keywords: ``Operation.CREATE_JOB.keyword == "Create-Job"``,
``StatusCode.CLIENT_ERROR_NOT_FOUND.keyword == "client-error-not-found"``,
``JobState.PROCESSING_STOPPED.keyword == "processing-stopped"``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Self


class GroupTag(IntEnum):
    """Delimiter tags (RFC 8010 §3.5.1, RFC 3995, PWG 5100.5, PWG 5100.22)."""

    OPERATION = 0x01
    JOB = 0x02
    END = 0x03  # end-of-attributes-tag: not a group, ends the attribute section
    PRINTER = 0x04
    UNSUPPORTED = 0x05
    SUBSCRIPTION = 0x06
    EVENT_NOTIFICATION = 0x07
    RESOURCE = 0x08
    DOCUMENT = 0x09
    SYSTEM = 0x0A


class ValueTag(IntEnum):
    """Value tags (RFC 8010 §3.5.2, RFC 3380 for not-settable/delete-attribute/admin-define)."""

    # out-of-band
    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    NOT_SETTABLE = 0x15
    DELETE_ATTRIBUTE = 0x16
    ADMIN_DEFINE = 0x17
    # integer types
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    # octetString types
    OCTET_STRING = 0x30
    DATE_TIME = 0x31
    RESOLUTION = 0x32
    RANGE_OF_INTEGER = 0x33
    BEG_COLLECTION = 0x34
    TEXT_WITH_LANGUAGE = 0x35
    NAME_WITH_LANGUAGE = 0x36
    END_COLLECTION = 0x37
    # character-string types
    TEXT_WITHOUT_LANGUAGE = 0x41
    NAME_WITHOUT_LANGUAGE = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    NATURAL_LANGUAGE = 0x48
    MIME_MEDIA_TYPE = 0x49
    MEMBER_ATTR_NAME = 0x4A
    # 0x7F: the value's first four octets hold an extended (32-bit) type code
    EXTENSION = 0x7F

    # Short aliases
    TEXT = 0x41
    NAME = 0x42

    @property
    def keyword(self) -> str:
        return _VALUE_TAG_NAMES[self.value]


_VALUE_TAG_NAMES: dict[int, str] = {
    0x10: "unsupported",
    0x12: "unknown",
    0x13: "no-value",
    0x15: "not-settable",
    0x16: "delete-attribute",
    0x17: "admin-define",
    0x21: "integer",
    0x22: "boolean",
    0x23: "enum",
    0x30: "octetString",
    0x31: "dateTime",
    0x32: "resolution",
    0x33: "rangeOfInteger",
    0x34: "collection",
    0x35: "textWithLanguage",
    0x36: "nameWithLanguage",
    0x37: "endCollection",
    0x41: "textWithoutLanguage",
    0x42: "nameWithoutLanguage",
    0x44: "keyword",
    0x45: "uri",
    0x46: "uriScheme",
    0x47: "charset",
    0x48: "naturalLanguage",
    0x49: "mimeMediaType",
    0x4A: "memberAttrName",
    0x7F: "extension",
}

#: Out-of-band value tags defined so far (their value is always empty).
OUT_OF_BAND_TAGS: frozenset[int] = frozenset({0x10, 0x12, 0x13, 0x15, 0x16, 0x17})

#: Tags whose value is a US-ASCII string.
ASCII_STRING_TAGS: frozenset[int] = frozenset({0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A})

#: Tags whose value is a UTF-8 string.
UTF8_STRING_TAGS: frozenset[int] = frozenset({0x41, 0x42})


class Operation(IntEnum):
    """Operation ids (RFC 8011 §5.4.15, RFC 3380, RFC 3995, PWG 5100.x)."""

    PRINT_JOB = 0x0002
    PRINT_URI = 0x0003
    VALIDATE_JOB = 0x0004
    CREATE_JOB = 0x0005
    SEND_DOCUMENT = 0x0006
    SEND_URI = 0x0007
    CANCEL_JOB = 0x0008
    GET_JOB_ATTRIBUTES = 0x0009
    GET_JOBS = 0x000A
    GET_PRINTER_ATTRIBUTES = 0x000B
    HOLD_JOB = 0x000C
    RELEASE_JOB = 0x000D
    RESTART_JOB = 0x000E
    PAUSE_PRINTER = 0x0010
    RESUME_PRINTER = 0x0011
    PURGE_JOBS = 0x0012
    SET_PRINTER_ATTRIBUTES = 0x0013
    SET_JOB_ATTRIBUTES = 0x0014
    GET_PRINTER_SUPPORTED_VALUES = 0x0015
    CREATE_PRINTER_SUBSCRIPTIONS = 0x0016
    CREATE_JOB_SUBSCRIPTIONS = 0x0017
    GET_SUBSCRIPTION_ATTRIBUTES = 0x0018
    GET_SUBSCRIPTIONS = 0x0019
    RENEW_SUBSCRIPTION = 0x001A
    CANCEL_SUBSCRIPTION = 0x001B
    GET_NOTIFICATIONS = 0x001C
    ENABLE_PRINTER = 0x0022
    DISABLE_PRINTER = 0x0023
    PAUSE_PRINTER_AFTER_CURRENT_JOB = 0x0024
    HOLD_NEW_JOBS = 0x0025
    RELEASE_HELD_NEW_JOBS = 0x0026
    DEACTIVATE_PRINTER = 0x0027
    ACTIVATE_PRINTER = 0x0028
    RESTART_PRINTER = 0x0029
    SHUTDOWN_PRINTER = 0x002A
    STARTUP_PRINTER = 0x002B
    REPROCESS_JOB = 0x002C
    CANCEL_CURRENT_JOB = 0x002D
    SUSPEND_CURRENT_JOB = 0x002E
    RESUME_JOB = 0x002F
    PROMOTE_JOB = 0x0030
    SCHEDULE_JOB_AFTER = 0x0031
    CANCEL_DOCUMENT = 0x0033
    GET_DOCUMENT_ATTRIBUTES = 0x0034
    GET_DOCUMENTS = 0x0035
    DELETE_DOCUMENT = 0x0036
    SET_DOCUMENT_ATTRIBUTES = 0x0037
    CANCEL_JOBS = 0x0038
    CANCEL_MY_JOBS = 0x0039
    RESUBMIT_JOB = 0x003A
    CLOSE_JOB = 0x003B
    IDENTIFY_PRINTER = 0x003C
    VALIDATE_DOCUMENT = 0x003D
    ADD_DOCUMENT_IMAGES = 0x003E
    ACKNOWLEDGE_DOCUMENT = 0x003F
    ACKNOWLEDGE_IDENTIFY_PRINTER = 0x0040
    ACKNOWLEDGE_JOB = 0x0041
    FETCH_DOCUMENT = 0x0042
    FETCH_JOB = 0x0043
    GET_OUTPUT_DEVICE_ATTRIBUTES = 0x0044
    UPDATE_ACTIVE_JOBS = 0x0045
    DEREGISTER_OUTPUT_DEVICE = 0x0046
    UPDATE_DOCUMENT_STATUS = 0x0047
    UPDATE_JOB_STATUS = 0x0048
    UPDATE_OUTPUT_DEVICE_ATTRIBUTES = 0x0049
    GET_NEXT_DOCUMENT_DATA = 0x004A
    ALLOCATE_PRINTER_RESOURCES = 0x004B
    CREATE_PRINTER = 0x004C
    DEALLOCATE_PRINTER_RESOURCES = 0x004D
    DELETE_PRINTER = 0x004E
    GET_PRINTERS = 0x004F
    SHUTDOWN_ONE_PRINTER = 0x0050
    STARTUP_ONE_PRINTER = 0x0051
    CANCEL_RESOURCE = 0x0052
    CREATE_RESOURCE = 0x0053
    INSTALL_RESOURCE = 0x0054
    SEND_RESOURCE_DATA = 0x0055
    SET_RESOURCE_ATTRIBUTES = 0x0056
    CREATE_RESOURCE_SUBSCRIPTIONS = 0x0057
    CREATE_SYSTEM_SUBSCRIPTIONS = 0x0058
    DISABLE_ALL_PRINTERS = 0x0059
    ENABLE_ALL_PRINTERS = 0x005A
    GET_SYSTEM_ATTRIBUTES = 0x005B
    GET_SYSTEM_SUPPORTED_VALUES = 0x005C
    PAUSE_ALL_PRINTERS = 0x005D
    PAUSE_ALL_PRINTERS_AFTER_CURRENT_JOB = 0x005E
    REGISTER_OUTPUT_DEVICE = 0x005F
    RESTART_SYSTEM = 0x0060
    RESUME_ALL_PRINTERS = 0x0061
    SET_SYSTEM_ATTRIBUTES = 0x0062
    SHUTDOWN_ALL_PRINTERS = 0x0063
    STARTUP_ALL_PRINTERS = 0x0064

    @property
    def keyword(self) -> str:
        """The operation's name as in "operations-supported", e.g. "Get-Printer-Attributes"."""
        words = []
        for word in self.name.split("_"):
            words.append(word if word in ("URI",) else word.capitalize())
        return "-".join(words)


def operation_name(code: int) -> str:
    """The IPP name of an operation id, or "0xNNNN" for unknown ones."""
    try:
        return Operation(code).keyword
    except ValueError:
        return f"0x{code:04x}"


class StatusCode(IntEnum):
    """Status codes (RFC 8011 §B, RFC 3995, PWG 5100.x)."""

    SUCCESSFUL_OK = 0x0000
    SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED_ATTRIBUTES = 0x0001
    SUCCESSFUL_OK_CONFLICTING_ATTRIBUTES = 0x0002
    SUCCESSFUL_OK_IGNORED_SUBSCRIPTIONS = 0x0003
    SUCCESSFUL_OK_IGNORED_NOTIFICATIONS = 0x0004
    SUCCESSFUL_OK_TOO_MANY_EVENTS = 0x0005
    SUCCESSFUL_OK_BUT_CANCEL_SUBSCRIPTION = 0x0006
    SUCCESSFUL_OK_EVENTS_COMPLETE = 0x0007
    REDIRECTION_OTHER_SITE = 0x0200
    CLIENT_ERROR_BAD_REQUEST = 0x0400
    CLIENT_ERROR_FORBIDDEN = 0x0401
    CLIENT_ERROR_NOT_AUTHENTICATED = 0x0402
    CLIENT_ERROR_NOT_AUTHORIZED = 0x0403
    CLIENT_ERROR_NOT_POSSIBLE = 0x0404
    CLIENT_ERROR_TIMEOUT = 0x0405
    CLIENT_ERROR_NOT_FOUND = 0x0406
    CLIENT_ERROR_GONE = 0x0407
    CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE = 0x0408
    CLIENT_ERROR_REQUEST_VALUE_TOO_LONG = 0x0409
    CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A
    CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B
    CLIENT_ERROR_URI_SCHEME_NOT_SUPPORTED = 0x040C
    CLIENT_ERROR_CHARSET_NOT_SUPPORTED = 0x040D
    CLIENT_ERROR_CONFLICTING_ATTRIBUTES = 0x040E
    CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED = 0x040F
    CLIENT_ERROR_COMPRESSION_ERROR = 0x0410
    CLIENT_ERROR_DOCUMENT_FORMAT_ERROR = 0x0411
    CLIENT_ERROR_DOCUMENT_ACCESS_ERROR = 0x0412
    CLIENT_ERROR_ATTRIBUTES_NOT_SETTABLE = 0x0413
    CLIENT_ERROR_IGNORED_ALL_SUBSCRIPTIONS = 0x0414
    CLIENT_ERROR_TOO_MANY_SUBSCRIPTIONS = 0x0415
    CLIENT_ERROR_IGNORED_ALL_NOTIFICATIONS = 0x0416
    CLIENT_ERROR_PRINT_SUPPORT_FILE_NOT_FOUND = 0x0417
    CLIENT_ERROR_DOCUMENT_PASSWORD_ERROR = 0x0418
    CLIENT_ERROR_DOCUMENT_PERMISSION_ERROR = 0x0419
    CLIENT_ERROR_DOCUMENT_SECURITY_ERROR = 0x041A
    CLIENT_ERROR_DOCUMENT_UNPRINTABLE_ERROR = 0x041B
    CLIENT_ERROR_ACCOUNT_INFO_NEEDED = 0x041C
    CLIENT_ERROR_ACCOUNT_CLOSED = 0x041D
    CLIENT_ERROR_ACCOUNT_LIMIT_REACHED = 0x041E
    CLIENT_ERROR_ACCOUNT_AUTHORIZATION_FAILED = 0x041F
    CLIENT_ERROR_NOT_FETCHABLE = 0x0420
    SERVER_ERROR_INTERNAL_ERROR = 0x0500
    SERVER_ERROR_OPERATION_NOT_SUPPORTED = 0x0501
    SERVER_ERROR_SERVICE_UNAVAILABLE = 0x0502
    SERVER_ERROR_VERSION_NOT_SUPPORTED = 0x0503
    SERVER_ERROR_DEVICE_ERROR = 0x0504
    SERVER_ERROR_TEMPORARY_ERROR = 0x0505
    SERVER_ERROR_NOT_ACCEPTING_JOBS = 0x0506
    SERVER_ERROR_BUSY = 0x0507
    SERVER_ERROR_JOB_CANCELED = 0x0508
    SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED = 0x0509
    SERVER_ERROR_PRINTER_IS_DEACTIVATED = 0x050A
    SERVER_ERROR_TOO_MANY_JOBS = 0x050B
    SERVER_ERROR_TOO_MANY_DOCUMENTS = 0x050C

    @property
    def keyword(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def is_successful(self) -> bool:
        return is_successful(self.value)

    @classmethod
    def from_keyword(cls, keyword: str) -> Self:
        return cls[keyword.upper().replace("-", "_")]


def is_successful(status_code: int) -> bool:
    """True for the "successful" class (0x0000-0x00FF)."""
    return 0 <= status_code <= 0x00FF


def status_name(code: int) -> str:
    """The IPP keyword of a status code; unknown codes are named by class, e.g.
    "client-error-0x04ff"."""
    try:
        return StatusCode(code).keyword
    except ValueError:
        pass
    if 0 <= code <= 0x00FF:
        cls = "successful"
    elif code <= 0x01FF:
        cls = "informational"
    elif code <= 0x02FF:
        cls = "redirection"
    elif 0x0400 <= code <= 0x04FF:
        cls = "client-error"
    elif 0x0500 <= code <= 0x05FF:
        cls = "server-error"
    else:
        cls = "status"
    return f"{cls}-0x{code:04x}"


class _KeywordEnum(IntEnum):
    @property
    def keyword(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_keyword(cls, keyword: str) -> Self:
        return cls[keyword.upper().replace("-", "_")]


class JobState(_KeywordEnum):
    """ "job-state" (RFC 8011 §5.3.7)."""

    PENDING = 3
    PENDING_HELD = 4
    PROCESSING = 5
    PROCESSING_STOPPED = 6
    CANCELED = 7
    ABORTED = 8
    COMPLETED = 9

    @property
    def is_terminal(self) -> bool:
        return self.value >= 7


class PrinterState(_KeywordEnum):
    """ "printer-state" (RFC 8011 §5.4.11)."""

    IDLE = 3
    PROCESSING = 4
    STOPPED = 5


class PrintQuality(_KeywordEnum):
    """ "print-quality" (RFC 8011 §5.2.13)."""

    DRAFT = 3
    NORMAL = 4
    HIGH = 5


class Orientation(_KeywordEnum):
    """ "orientation-requested" (RFC 8011 §5.2.10)."""

    PORTRAIT = 3
    LANDSCAPE = 4
    REVERSE_LANDSCAPE = 5
    REVERSE_PORTRAIT = 6
    NONE = 7


class Finishings(_KeywordEnum):
    """The common "finishings" values (RFC 8011 §5.2.6, PWG 5100.1)."""

    NONE = 3
    STAPLE = 4
    PUNCH = 5
    COVER = 6
    BIND = 7
    SADDLE_STITCH = 8
    EDGE_STITCH = 9
    FOLD = 10
    TRIM = 11
    BALE = 12
    BOOKLET_MAKER = 13
    JOG_OFFSET = 14
    COAT = 15
    LAMINATE = 16


class ResolutionUnits(IntEnum):
    """Units of a resolution value (RFC 8010 §3.9)."""

    DOTS_PER_INCH = 3
    DOTS_PER_CM = 4


#: The usual syntax of common attributes, used to pick a value tag when building
#: messages from plain Python values (see ``ipp.codec.make_values``).
ATTRIBUTE_SYNTAX: dict[str, ValueTag] = {
    # operation attributes
    "attributes-charset": ValueTag.CHARSET,
    "attributes-natural-language": ValueTag.NATURAL_LANGUAGE,
    "printer-uri": ValueTag.URI,
    "job-uri": ValueTag.URI,
    "job-id": ValueTag.INTEGER,
    "document-number": ValueTag.INTEGER,
    "requesting-user-name": ValueTag.NAME,
    "requesting-user-uri": ValueTag.URI,
    "job-name": ValueTag.NAME,
    "document-name": ValueTag.NAME,
    "document-format": ValueTag.MIME_MEDIA_TYPE,
    "document-natural-language": ValueTag.NATURAL_LANGUAGE,
    "document-uri": ValueTag.URI,
    "compression": ValueTag.KEYWORD,
    "last-document": ValueTag.BOOLEAN,
    "ipp-attribute-fidelity": ValueTag.BOOLEAN,
    "requested-attributes": ValueTag.KEYWORD,
    "which-jobs": ValueTag.KEYWORD,
    "limit": ValueTag.INTEGER,
    "first-index": ValueTag.INTEGER,
    "my-jobs": ValueTag.BOOLEAN,
    "job-ids": ValueTag.INTEGER,
    "status-message": ValueTag.TEXT,
    "detailed-status-message": ValueTag.TEXT,
    "message": ValueTag.TEXT,
    "job-k-octets": ValueTag.INTEGER,
    "job-impressions": ValueTag.INTEGER,
    "job-media-sheets": ValueTag.INTEGER,
    # job template attributes
    "copies": ValueTag.INTEGER,
    "media": ValueTag.KEYWORD,
    "media-col": ValueTag.BEG_COLLECTION,
    "media-size": ValueTag.BEG_COLLECTION,
    "x-dimension": ValueTag.INTEGER,
    "y-dimension": ValueTag.INTEGER,
    "media-size-name": ValueTag.KEYWORD,
    "media-source": ValueTag.KEYWORD,
    "media-type": ValueTag.KEYWORD,
    "media-top-margin": ValueTag.INTEGER,
    "media-bottom-margin": ValueTag.INTEGER,
    "media-left-margin": ValueTag.INTEGER,
    "media-right-margin": ValueTag.INTEGER,
    "sides": ValueTag.KEYWORD,
    "print-color-mode": ValueTag.KEYWORD,
    "print-quality": ValueTag.ENUM,
    "print-scaling": ValueTag.KEYWORD,
    "print-content-optimize": ValueTag.KEYWORD,
    "print-rendering-intent": ValueTag.KEYWORD,
    "printer-resolution": ValueTag.RESOLUTION,
    "finishings": ValueTag.ENUM,
    "orientation-requested": ValueTag.ENUM,
    "output-bin": ValueTag.KEYWORD,
    "page-ranges": ValueTag.RANGE_OF_INTEGER,
    "number-up": ValueTag.INTEGER,
    "job-priority": ValueTag.INTEGER,
    "job-hold-until": ValueTag.KEYWORD,
    "job-sheets": ValueTag.KEYWORD,
    "multiple-document-handling": ValueTag.KEYWORD,
    # job description / status attributes
    "job-state": ValueTag.ENUM,
    "job-state-reasons": ValueTag.KEYWORD,
    "job-state-message": ValueTag.TEXT,
    "job-printer-uri": ValueTag.URI,
    "job-originating-user-name": ValueTag.NAME,
    "job-impressions-completed": ValueTag.INTEGER,
    "job-media-sheets-completed": ValueTag.INTEGER,
    "job-printer-up-time": ValueTag.INTEGER,
    "job-uuid": ValueTag.URI,
    "time-at-creation": ValueTag.INTEGER,
    "time-at-processing": ValueTag.INTEGER,
    "time-at-completed": ValueTag.INTEGER,
    "date-time-at-creation": ValueTag.DATE_TIME,
    "date-time-at-processing": ValueTag.DATE_TIME,
    "date-time-at-completed": ValueTag.DATE_TIME,
    "number-of-documents": ValueTag.INTEGER,
    # printer description / status attributes
    "printer-name": ValueTag.NAME,
    "printer-info": ValueTag.TEXT,
    "printer-location": ValueTag.TEXT,
    "printer-make-and-model": ValueTag.TEXT,
    "printer-state": ValueTag.ENUM,
    "printer-state-reasons": ValueTag.KEYWORD,
    "printer-state-message": ValueTag.TEXT,
    "printer-is-accepting-jobs": ValueTag.BOOLEAN,
    "printer-uri-supported": ValueTag.URI,
    "printer-uuid": ValueTag.URI,
    "printer-more-info": ValueTag.URI,
    "printer-up-time": ValueTag.INTEGER,
    "printer-state-change-time": ValueTag.INTEGER,
    "printer-current-time": ValueTag.DATE_TIME,
    "queued-job-count": ValueTag.INTEGER,
    "uri-security-supported": ValueTag.KEYWORD,
    "uri-authentication-supported": ValueTag.KEYWORD,
    "document-format-supported": ValueTag.MIME_MEDIA_TYPE,
    "document-format-default": ValueTag.MIME_MEDIA_TYPE,
    "charset-configured": ValueTag.CHARSET,
    "charset-supported": ValueTag.CHARSET,
    "natural-language-configured": ValueTag.NATURAL_LANGUAGE,
    "generated-natural-language-supported": ValueTag.NATURAL_LANGUAGE,
    "operations-supported": ValueTag.ENUM,
    "ipp-versions-supported": ValueTag.KEYWORD,
    "pdl-override-supported": ValueTag.KEYWORD,
    "compression-supported": ValueTag.KEYWORD,
    "color-supported": ValueTag.BOOLEAN,
    "multiple-document-jobs-supported": ValueTag.BOOLEAN,
    "copies-default": ValueTag.INTEGER,
    "copies-supported": ValueTag.RANGE_OF_INTEGER,
    "media-default": ValueTag.KEYWORD,
    "media-supported": ValueTag.KEYWORD,
    "media-ready": ValueTag.KEYWORD,
    "sides-default": ValueTag.KEYWORD,
    "sides-supported": ValueTag.KEYWORD,
    "print-color-mode-default": ValueTag.KEYWORD,
    "print-color-mode-supported": ValueTag.KEYWORD,
    "print-quality-default": ValueTag.ENUM,
    "print-quality-supported": ValueTag.ENUM,
    "finishings-default": ValueTag.ENUM,
    "finishings-supported": ValueTag.ENUM,
    "orientation-requested-default": ValueTag.ENUM,
    "orientation-requested-supported": ValueTag.ENUM,
    "printer-resolution-default": ValueTag.RESOLUTION,
    "printer-resolution-supported": ValueTag.RESOLUTION,
    # notifications (RFC 3995)
    "notify-recipient-uri": ValueTag.URI,
    "notify-pull-method": ValueTag.KEYWORD,
    "notify-events": ValueTag.KEYWORD,
    "notify-lease-duration": ValueTag.INTEGER,
    "notify-time-interval": ValueTag.INTEGER,
    "notify-subscription-id": ValueTag.INTEGER,
    "notify-subscription-ids": ValueTag.INTEGER,
    "notify-sequence-numbers": ValueTag.INTEGER,
    "notify-wait": ValueTag.BOOLEAN,
    "notify-user-data": ValueTag.OCTET_STRING,
    "notify-charset": ValueTag.CHARSET,
    "notify-natural-language": ValueTag.NATURAL_LANGUAGE,
}
