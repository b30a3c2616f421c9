-- The Slack channel's own state: inbound deliveries already acted on (so a
-- retry or a duplicate never acts twice), and the messages the bot posted
-- for approval requests (so later events update them in place).

-- +goose Up
CREATE TABLE slack_deliveries (
    key        text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT slack_deliveries_key_check CHECK (key <> '' AND char_length(key) <= 500)
);
CREATE INDEX slack_deliveries_created_idx ON slack_deliveries (created_at);

CREATE TABLE slack_messages (
    workspace_id bigint NOT NULL,
    draft_id     bigint NOT NULL,
    revision     integer NOT NULL,
    tier         text NOT NULL,
    target       text NOT NULL,
    channel      text NOT NULL,
    ts           text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT slack_messages_pkey PRIMARY KEY (draft_id, revision, tier, target),
    CONSTRAINT slack_messages_channel_ts_key UNIQUE (channel, ts),
    CONSTRAINT slack_messages_tier_check CHECK (tier IN ('internal', 'client')),
    CONSTRAINT slack_messages_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id)
);

-- +goose Down
DROP TABLE slack_messages;
DROP TABLE slack_deliveries;
