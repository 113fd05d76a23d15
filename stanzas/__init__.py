"""PWG Cloud Imaging payloads over XMPP: models, errors and stanza classes."""

from stanzas.namespace import NS

__all__ = ["NS"]
