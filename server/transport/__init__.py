"""How the service is reached: the XMPP component (requests, pushes) and the HTTPS
endpoint for document bytes."""
