"""Handing out a stored document's bytes: in the answer itself when small and the asker
takes that, else behind a one-time HTTPS download URL bound to the asker (a device's
FetchDocument, an owner's GetDocumentData)."""

from __future__ import annotations

from typing import Any

from server.context import ServiceContext
from server.stores.documents import Document
from stanzas.errors import InternalError, NotFound
from stanzas.types import INLINE_DOCUMENT_MAX


def hand_out(
    ctx: ServiceContext, document: Document, *, inline: bool, holder: str
) -> dict[str, Any]:
    """`document_data` or `document_access_uri`, for the answer. The document must hold
    data (spool_name set)."""
    assert document.spool_name is not None
    if inline and document.document_size <= INLINE_DOCUMENT_MAX:
        try:
            data = ctx.spool.read_small(document.spool_name, INLINE_DOCUMENT_MAX)
        except FileNotFoundError:
            raise NotFound(f"the data of document {document.document_number} is gone") from None
        if len(data) != document.document_size:
            raise InternalError(f"the data of document {document.document_number} is damaged")
        ctx.traffic.document_bytes_out += len(data)
        return {"document_data": data}
    slot = ctx.slots.new_download(
        job_id=document.job_id,
        document_number=document.document_number,
        spool_name=document.spool_name,
        size=document.document_size,
        digest=document.document_digest,
        device_jid=holder,
    )
    return {"document_access_uri": f"{ctx.public_url}/documents/{slot.token}"}
