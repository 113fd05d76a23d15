"""Printing from any XMPP chat client: a user shares a file with the service the way
chat clients share files (an XEP-0363 upload to their XMPP server's file share, then a
message carrying its link, as XEP-0066 out-of-band data or the bare URL in the body),
and it prints; the job's states come back in the same conversation, and `cancel`,
`jobs` and `default QUEUE` work there (docs/client.md).

shares.py reads what a message shares, users.py answers users (the commands declared
in admin_commands/user_commands.py, through the client operations' own handlers with
the sender's identity), notices.py tells each chat job's states in its conversation.
The chat bot (server/admin/chat.py) hands it every message that is not an operator's
command."""
