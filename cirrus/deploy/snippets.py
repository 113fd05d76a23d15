"""What the XMPP server needs for one part, as `cirrus init` prints it: Prosody's and
ejabberd's variants (the same settings docs/deploy.md explains; tests load both into
the real servers)."""

from __future__ import annotations

from cirrus.deploy.configs import Names
from prosody_config.launcher import lua_str

PROSODY_GLOBAL = """\
-- Cirrus: global section of prosody.cfg.lua (before the first VirtualHost).
-- Bigger stanzas than the defaults (256 KiB c2s, 512 KiB components): a document of
-- up to 64 KiB travels inside a request, base64-encoded.
c2s_stanza_size_limit = 512 * 1024
component_stanza_size_limit = 1024 * 1024
-- The component port only on loopback: XEP-0114 has no TLS.
component_ports = { 5347 }
component_interfaces = { "127.0.0.1" }
"""

PROSODY_COMPONENT = """\
-- Cirrus: after your VirtualHost {domain} block.
Component {component}
	component_secret = {secret}
"""

EJABBERD_SERVICE = """\
# Cirrus: one more entry under `listen:` in ejabberd.yml (one listener per component).
  -
    port: 5347
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
      {component}:
        password: "{secret}"
    max_stanza_size: 1048576
    shaper: none
# and on your ejabberd_c2s listener: max_stanza_size: 524288
"""

EJABBERD_ACCOUNT = """\
# Cirrus: lift the c2s shaper (3000 B/s in the stock config) for the Cirrus accounts.
acl:
  cirrus:
    user:
      - "{jid}"
shaper_rules:
  c2s_shaper:
    none: cirrus
    normal: all
"""


def service_snippets(names: Names, secret: str) -> dict[str, str]:
    return {
        "Prosody": PROSODY_GLOBAL
        + "\n"
        + PROSODY_COMPONENT.format(
            domain=lua_str(names.domain),
            component=lua_str(names.component_jid),
            secret=lua_str(secret),
        ),
        "ejabberd": EJABBERD_SERVICE.format(component=names.component_jid, secret=secret),
    }


def account_snippets(jid: str, password_hint: str) -> dict[str, str]:
    """For a manager's or the gateway's account: create it, lift the rate limit."""
    user, _, host = jid.partition("@")
    return {
        "Prosody": (
            "-- Cirrus: mod_limits (on in Debian's config) throttles each c2s connection to\n"
            "-- 10 kb/s, about 16 requests a second. In the global section, lift it for\n"
            f"-- this account (add it to the list if you have one):\n"
            f"unlimited_jids = {{ {lua_str(jid)} }}\n"
            f"-- and create the account (skip with LDAP: the directory has it):\n"
            f"--   prosodyctl adduser {jid}    (password: {password_hint})\n"
        ),
        "ejabberd": EJABBERD_ACCOUNT.format(jid=jid)
        + "# and create the account (skip with LDAP: the directory has it):\n"
        + f"#   ejabberdctl register {user} {host} PASSWORD    (password: {password_hint})\n",
    }
