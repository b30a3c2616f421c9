-- Drafts and their history (revisions, decisions, comments), the append-only
-- audit log and the transactional outbox.
--
-- History rows reference members without cascading: a member who authored,
-- decided or commented cannot be deleted (revoke their access instead), so
-- the history always says who did what.

-- +goose Up

-- 00001 checked names with btrim(), which trims spaces only: a name of
-- newlines or tabs passed. Blank means only whitespace, of any kind.
ALTER TABLE workspaces DROP CONSTRAINT workspaces_name_check,
    ADD CONSTRAINT workspaces_name_check CHECK (name ~ '[^[:space:]]');
ALTER TABLE groups DROP CONSTRAINT groups_name_check,
    ADD CONSTRAINT groups_name_check CHECK (name ~ '[^[:space:]]');
ALTER TABLE accounts DROP CONSTRAINT accounts_name_check,
    ADD CONSTRAINT accounts_name_check CHECK (name ~ '[^[:space:]]');

CREATE TABLE drafts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL,
    account_id   bigint NOT NULL,
    author_id    bigint NOT NULL,
    state        text NOT NULL,
    revision     integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT drafts_workspace_id_key UNIQUE (workspace_id, id),
    CONSTRAINT drafts_state_check CHECK (
        state IN ('pending_internal', 'pending_client', 'approved', 'rejected', 'withdrawn')),
    CONSTRAINT drafts_revision_check CHECK (revision >= 1),
    CONSTRAINT drafts_account_fkey FOREIGN KEY (workspace_id, account_id)
        REFERENCES accounts (workspace_id, id),
    CONSTRAINT drafts_author_fkey FOREIGN KEY (workspace_id, author_id)
        REFERENCES members (workspace_id, id)
);
CREATE INDEX drafts_list_idx ON drafts (workspace_id, account_id, state, id);

CREATE TABLE revisions (
    workspace_id  bigint NOT NULL,
    draft_id      bigint NOT NULL,
    number        integer NOT NULL,
    text          text NOT NULL,
    media_urls    text[] NOT NULL DEFAULT '{}',
    scheduled_at  timestamptz,
    needs_internal boolean NOT NULL,
    needs_client  boolean NOT NULL,
    internal_rule text NOT NULL,
    client_rule   text NOT NULL,
    created_by_id bigint NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT revisions_pkey PRIMARY KEY (draft_id, number),
    CONSTRAINT revisions_number_check CHECK (number >= 1),
    CONSTRAINT revisions_text_check CHECK (text ~ '[^[:space:]]' AND char_length(text) <= 10000),
    CONSTRAINT revisions_internal_rule_check CHECK (internal_rule IN ('any', 'all')),
    CONSTRAINT revisions_client_rule_check CHECK (client_rule IN ('any', 'all')),
    CONSTRAINT revisions_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT revisions_created_by_fkey FOREIGN KEY (workspace_id, created_by_id)
        REFERENCES members (workspace_id, id)
);

-- A draft's current revision must exist by the end of the transaction that
-- creates or revises it.
ALTER TABLE drafts ADD CONSTRAINT drafts_current_revision_fkey
    FOREIGN KEY (id, revision) REFERENCES revisions (draft_id, number)
    DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE decisions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL,
    draft_id     bigint NOT NULL,
    revision     integer NOT NULL,
    tier         text NOT NULL,
    approver_id  bigint NOT NULL,
    verdict      text NOT NULL,
    comment      text NOT NULL DEFAULT '',
    channel      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Invariant 4: one decision per (draft, revision, tier, approver).
    CONSTRAINT decisions_once_key UNIQUE (draft_id, revision, tier, approver_id),
    CONSTRAINT decisions_tier_check CHECK (tier IN ('internal', 'client')),
    CONSTRAINT decisions_verdict_check CHECK (verdict IN ('approve', 'reject')),
    CONSTRAINT decisions_reject_comment_check CHECK (verdict = 'approve' OR comment ~ '[^[:space:]]'),
    CONSTRAINT decisions_comment_length_check CHECK (char_length(comment) <= 4000),
    CONSTRAINT decisions_channel_check CHECK (channel IN ('cli', 'slack', 'email', 'api', 'system')),
    CONSTRAINT decisions_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number),
    CONSTRAINT decisions_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT decisions_approver_fkey FOREIGN KEY (workspace_id, approver_id)
        REFERENCES members (workspace_id, id)
);
CREATE INDEX decisions_approver_idx ON decisions (approver_id);

CREATE TABLE comments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL,
    draft_id     bigint NOT NULL,
    revision     integer NOT NULL,
    author_id    bigint, -- NULL for the system's own notes (channel 'system')
    text         text NOT NULL,
    channel      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT comments_author_check CHECK (author_id IS NOT NULL OR channel = 'system'),
    CONSTRAINT comments_text_check CHECK (text ~ '[^[:space:]]' AND char_length(text) <= 4000),
    CONSTRAINT comments_channel_check CHECK (channel IN ('cli', 'slack', 'email', 'api', 'system')),
    CONSTRAINT comments_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number),
    CONSTRAINT comments_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT comments_author_fkey FOREIGN KEY (workspace_id, author_id)
        REFERENCES members (workspace_id, id)
);
CREATE INDEX comments_draft_idx ON comments (draft_id, id);
CREATE INDEX comments_author_idx ON comments (author_id);
CREATE INDEX decisions_draft_idx ON decisions (draft_id, id);
CREATE INDEX drafts_author_idx ON drafts (author_id);
CREATE INDEX revisions_created_by_idx ON revisions (created_by_id);

-- The audit log outlives what it talks about, so it has no foreign keys.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      bigint,
    actor         text NOT NULL DEFAULT '',
    channel       text NOT NULL,
    action        text NOT NULL,
    outcome       text NOT NULL,
    draft_id      bigint,
    revision      integer,
    account_id    bigint,
    detail        text NOT NULL DEFAULT '',
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    slack_user_id text NOT NULL DEFAULT '',
    slack_team_id text NOT NULL DEFAULT '',
    request_id    text NOT NULL DEFAULT '',
    CONSTRAINT audit_log_outcome_check CHECK (outcome IN ('ok', 'refused')),
    CONSTRAINT audit_log_action_check CHECK (action <> '')
);
CREATE INDEX audit_log_draft_idx ON audit_log (workspace_id, draft_id, id) WHERE draft_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SO003',
        MESSAGE = format('the audit log is append-only: %s is not allowed', TG_OP);
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id    bigint REFERENCES workspaces (id),
    channel         text NOT NULL,
    idempotency_key text NOT NULL,
    payload         jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending',
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    CONSTRAINT outbox_idempotency_key UNIQUE (idempotency_key),
    CONSTRAINT outbox_state_check CHECK (state IN ('pending', 'sent', 'dead')),
    CONSTRAINT outbox_channel_check CHECK (channel <> ''),
    CONSTRAINT outbox_sent_at_check CHECK ((state = 'sent') = (sent_at IS NOT NULL))
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_state_idx ON outbox (state, id);

-- +goose Down
DROP TABLE outbox;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE comments;
DROP TABLE decisions;
ALTER TABLE drafts DROP CONSTRAINT drafts_current_revision_fkey;
DROP TABLE revisions;
DROP TABLE drafts;
ALTER TABLE accounts DROP CONSTRAINT accounts_name_check,
    ADD CONSTRAINT accounts_name_check CHECK (btrim(name) <> '');
ALTER TABLE groups DROP CONSTRAINT groups_name_check,
    ADD CONSTRAINT groups_name_check CHECK (btrim(name) <> '');
ALTER TABLE workspaces DROP CONSTRAINT workspaces_name_check,
    ADD CONSTRAINT workspaces_name_check CHECK (btrim(name) <> '');
