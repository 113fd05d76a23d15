-- Who receives the service's own presence (the admin bot's, RFC 6121 subscriptions): the
-- operators and administrators whose subscription it approved. A component keeps its
-- own roster (the XMPP server keeps only the users' side), so that it can send its
-- presence to them when it starts, changes and stops.
CREATE TABLE presence_subscribers (
    jid TEXT PRIMARY KEY,            -- bare JID
    time_subscribed INTEGER NOT NULL
);
