"""ejabberd 23.01 config template and launcher (imported as ``ejabberd_config``):
the second XMPP server Cirrus runs on, behind the same interface as prosody_config."""
