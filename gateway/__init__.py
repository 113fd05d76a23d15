"""The IPP gateway: every cloud queue as an IPP Everywhere printer.

Ordinary print clients (CUPS, OS print dialogs, ipptool, phones) speak IPP; the gateway
translates each IPP request into the Cloud Imaging Service's XMPP operations, logged in
to Prosody as the user who authenticated with HTTP Basic, so the service sees the real
user. See docs/gateway.md.
"""
