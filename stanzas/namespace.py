"""The one XML namespace of Cirrus' PWG Cloud Imaging payloads.

The trailing number is the protocol version: an incompatible change gets a new
namespace, so a manager and a service of different versions fail loudly
(feature-not-implemented) instead of misreading each other.
"""

NS = "urn:cirrus:cloud-imaging:1"
STANZA_ERRORS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def qname(local: str) -> str:
    """ElementTree's '{namespace}local' form of one of our element names."""
    return f"{{{NS}}}{local}"
