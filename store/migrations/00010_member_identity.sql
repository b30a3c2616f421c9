-- Offboarding and trusted Slack identity.
--
-- A deactivated member keeps their row, so the history (drafts, decisions,
-- comments, the audit log) still names them; the core refuses every action
-- of theirs, whatever the channel.
--
-- slack_link_blocks records an admin's unlink of a Slack user from a
-- member: automatic linking never links that pair again until an admin
-- links it explicitly (which deletes the row).
--
-- slack_link_requests are the one-time confirmations emailed to a member
-- when a Slack user outside the workspace's own team (Slack Connect) or a
-- guest asks to be linked to them; used_at makes each usable once.

-- +goose Up
ALTER TABLE members ADD COLUMN deactivated_at timestamptz;

CREATE TABLE slack_link_blocks (
    workspace_id  bigint NOT NULL,
    member_id     bigint NOT NULL,
    slack_user_id text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT slack_link_blocks_pkey PRIMARY KEY (member_id, slack_user_id),
    CONSTRAINT slack_link_blocks_member_fkey FOREIGN KEY (workspace_id, member_id)
        REFERENCES members (workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE slack_link_requests (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint NOT NULL,
    member_id     bigint NOT NULL,
    slack_user_id text NOT NULL,
    slack_team_id text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    used_at       timestamptz,
    CONSTRAINT slack_link_requests_user_check CHECK (slack_user_id <> ''),
    CONSTRAINT slack_link_requests_member_fkey FOREIGN KEY (workspace_id, member_id)
        REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX slack_link_requests_open_idx ON slack_link_requests (member_id, slack_user_id, created_at)
    WHERE used_at IS NULL;

-- +goose Down
DROP TABLE slack_link_requests;
DROP TABLE slack_link_blocks;
ALTER TABLE members DROP COLUMN deactivated_at;
