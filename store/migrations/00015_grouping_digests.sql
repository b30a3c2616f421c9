-- Grouped requests and daily digests.
--
-- workspaces.group_window_ms: how long an approval request or reminder
-- email waits for others to the same person, so that they go out as one
-- (0: each at once). Existing workspaces get the default too: grouping is
-- what the product does now, and five minutes is a delay nobody waits on.
--
-- members.notify: 'immediate' (requests by email and Slack DM as they come,
-- grouped by the window) or 'digest' (one email a day at digest_at, minutes
-- after local midnight in time_zone, an IANA zone name).
--
-- outbox.group_key: messages with the same key are claimed together and
-- delivered as one (a grouped email); next_attempt_at of the first one
-- queued is when the group goes out.
--
-- slack_messages: a grouped Slack DM is one message for several drafts, so
-- (channel, ts) names a message that may hold more than one request.

-- +goose Up
ALTER TABLE workspaces ADD COLUMN group_window_ms bigint NOT NULL DEFAULT 300000,
    ADD CONSTRAINT workspaces_group_window_check CHECK (group_window_ms BETWEEN 0 AND 86400000);

ALTER TABLE members ADD COLUMN notify text NOT NULL DEFAULT 'immediate',
    ADD COLUMN digest_at smallint,
    ADD COLUMN time_zone text,
    ADD CONSTRAINT members_notify_check CHECK (notify IN ('immediate', 'digest')),
    ADD CONSTRAINT members_digest_check CHECK (
        notify = 'immediate' OR (digest_at BETWEEN 0 AND 1439 AND time_zone <> ''));

ALTER TABLE outbox ADD COLUMN group_key text;
CREATE INDEX outbox_group_idx ON outbox (group_key) WHERE state = 'pending' AND group_key IS NOT NULL;

ALTER TABLE slack_messages DROP CONSTRAINT slack_messages_channel_ts_key;
CREATE INDEX slack_messages_channel_ts_idx ON slack_messages (channel, ts);

-- +goose Down
DROP INDEX slack_messages_channel_ts_idx;
ALTER TABLE slack_messages ADD CONSTRAINT slack_messages_channel_ts_key UNIQUE (channel, ts);
DROP INDEX outbox_group_idx;
ALTER TABLE outbox DROP COLUMN group_key;
ALTER TABLE members DROP CONSTRAINT members_digest_check, DROP CONSTRAINT members_notify_check,
    DROP COLUMN time_zone, DROP COLUMN digest_at, DROP COLUMN notify;
ALTER TABLE workspaces DROP CONSTRAINT workspaces_group_window_check, DROP COLUMN group_window_ms;
