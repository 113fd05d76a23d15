"""The administrators' front ends, one plugin of the XMPP component (plugin.py): the chat
bot (chat.py), the XEP-0050 ad-hoc commands (adhoc.py), alerts (alerts.py) and device
presence. Both front ends run the commands declared in admin_commands/ through the
operations' own handlers (runner.py)."""
