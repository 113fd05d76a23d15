"""Deploying Cirrus on an organisation's own XMPP server: `cirrus init`, `cirrus doctor`,
and the systemd units and Containerfiles they hand out (docs/deploy.md)."""
