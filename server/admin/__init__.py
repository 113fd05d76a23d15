"""Administration front ends: one declaration per command (commands.py), served as a chat
bot (chat.py), as XEP-0050 ad-hoc commands (adhoc.py) and by the `cirrus admin` CLI;
alerts by chat (alerts.py); device presence (frontends.py wires it all to the component).

Kept free of imports so that the CLI can use commands.py without the service's modules.
"""
