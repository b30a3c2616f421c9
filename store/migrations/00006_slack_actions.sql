-- Slack clicks acknowledged before they are acted on: an Approve click or a
-- reject-modal submission is written here in the same statement that claims
-- its delivery in slack_deliveries, and Slack gets its answer at once. A
-- worker (any serve replica) leases rows with FOR UPDATE SKIP LOCKED, makes
-- the decision through the core, answers the clicker ephemerally and
-- deletes the row; a worker that dies leaves the row to be leased again
-- once its lease runs out (the core's decision is idempotent per approver).

-- +goose Up
CREATE TABLE slack_actions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_key text NOT NULL,
    payload      jsonb NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    due_at       timestamptz NOT NULL DEFAULT now(),
    lease_until  timestamptz,
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT slack_actions_delivery_key_key UNIQUE (delivery_key),
    CONSTRAINT slack_actions_attempts_check CHECK (attempts >= 0)
);
CREATE INDEX slack_actions_due_idx ON slack_actions (due_at, id);

-- +goose Down
DROP TABLE slack_actions;
