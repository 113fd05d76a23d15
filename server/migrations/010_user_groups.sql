-- The service's own groups of users (issue 13): a queue's permissions may name them
-- (configuration allowed-groups). Administrators manage them (AddGroupMembers …).
CREATE TABLE user_groups (
    group_name TEXT NOT NULL,     -- a keyword
    member TEXT NOT NULL,         -- a bare JID
    PRIMARY KEY (group_name, member)
);
CREATE INDEX user_groups_by_member ON user_groups (member);
