"""The administrative commands, declared once (declarations.py) with how their answers
read (render.py), for every front end: the service's chat bot and XEP-0050 ad-hoc
commands (server/admin/) and the `cirrus admin` CLI (cirrus/admin_cli.py).

Its own package because both sides need it and neither may depend on the other: the CLI
must not import the service, and the service must not import the client. It depends
on the wire protocol (stanzas/) only; it is not part of the wire itself, so stanzas/
(which managers, clients and the gateway load) does not carry it.
"""
