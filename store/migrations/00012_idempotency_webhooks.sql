-- Idempotency keys of API submissions, each workspace's own webhook, and
-- retention of the audit log.
--
-- idempotency_keys: a key an API token sent with POST /api/v1/drafts, the
-- SHA-256 of the request body, the draft the submission made and the answer
-- it got, all written in the submission's transaction. Keys are per token;
-- after 24 hours a key is free again and the row may be pruned.
--
-- workspace_webhooks: the URL approved drafts of a workspace go to and the
-- secret that signs them; workspaces without a row use the deployment's
-- webhooks.url and secret. After a rotation the previous secret also signs
-- deliveries until previous_until, so a publisher can switch without a gap.
--
-- The audit log stays append-only, except that a transaction which set
-- signoff.audit_prune_before (what `signoff prune` does when retention.audit
-- is set) may delete rows older than that time.

-- +goose Up
CREATE TABLE idempotency_keys (
    token_id     bigint NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    draft_id     bigint,
    response     jsonb,
    created_at   timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (token_id, key),
    CONSTRAINT idempotency_keys_key_check CHECK (char_length(key) BETWEEN 1 AND 255),
    CONSTRAINT idempotency_keys_hash_check CHECK (octet_length(request_hash) = 32)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE workspace_webhooks (
    workspace_id    bigint PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    url             text NOT NULL,
    secret          text NOT NULL,
    previous_secret text NOT NULL DEFAULT '',
    previous_until  timestamptz,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT workspace_webhooks_url_check CHECK (url ~ '^https?://' AND char_length(url) <= 2000),
    CONSTRAINT workspace_webhooks_secret_check CHECK (char_length(secret) >= 16)
);

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND OLD.at < nullif(current_setting('signoff.audit_prune_before', true), '')::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'SO003',
        MESSAGE = format('the audit log is append-only: %s is not allowed', TG_OP);
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'SO003',
        MESSAGE = format('the audit log is append-only: %s is not allowed', TG_OP);
END
$$;
-- +goose StatementEnd
DROP TABLE workspace_webhooks;
DROP TABLE idempotency_keys;
