-- Hand-off of approved drafts to publishers: the JSON API's bearer tokens
-- (stored as SHA-256 hashes, never in clear) and one hand-off row per
-- approved draft, numbered per workspace in commit order (the API's cursor),
-- with the publication a publisher reported.

-- +goose Up
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    member_id    bigint, -- NULL for a publisher token
    hash         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    CONSTRAINT api_tokens_hash_key UNIQUE (hash),
    CONSTRAINT api_tokens_hash_check CHECK (octet_length(hash) = 32),
    CONSTRAINT api_tokens_name_check CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    -- A member's tokens go with the member.
    CONSTRAINT api_tokens_member_fkey FOREIGN KEY (workspace_id, member_id)
        REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
-- A name is reused only once its token is revoked.
CREATE UNIQUE INDEX api_tokens_name_key ON api_tokens (workspace_id, name) WHERE revoked_at IS NULL;
CREATE INDEX api_tokens_member_idx ON api_tokens (member_id);

-- The last hand-off number of each workspace. Taking the next number
-- locks the workspace's row until commit, so numbers become visible in
-- increasing order and a cursor never skips a late commit.
CREATE TABLE handoff_seq (
    workspace_id bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    last         bigint NOT NULL
);

CREATE TABLE handoffs (
    workspace_id  bigint NOT NULL,
    draft_id      bigint NOT NULL,
    account_id    bigint NOT NULL,
    seq           bigint NOT NULL,
    revision      integer NOT NULL,
    approved_at   timestamptz NOT NULL DEFAULT now(),
    published_at  timestamptz,
    published_url text NOT NULL DEFAULT '',
    published_by  text NOT NULL DEFAULT '',
    CONSTRAINT handoffs_pkey PRIMARY KEY (draft_id),
    CONSTRAINT handoffs_seq_key UNIQUE (workspace_id, seq),
    CONSTRAINT handoffs_published_check CHECK (published_at IS NOT NULL OR (published_url = '' AND published_by = '')),
    CONSTRAINT handoffs_published_url_check CHECK (char_length(published_url) <= 2000),
    CONSTRAINT handoffs_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT handoffs_account_fkey FOREIGN KEY (workspace_id, account_id)
        REFERENCES accounts (workspace_id, id),
    CONSTRAINT handoffs_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number)
);
CREATE INDEX handoffs_account_idx ON handoffs (workspace_id, account_id, seq);

-- +goose Down
DROP TABLE handoffs;
DROP TABLE handoff_seq;
DROP TABLE api_tokens;
