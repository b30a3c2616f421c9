-- The outbox no longer has a foreign key to workspaces. Every row queued
-- checked it, which takes a FOR KEY SHARE lock on the workspace's row: all
-- the transactions of a workspace that notify anyone (every decision, every
-- submission) then locked that one row together, each lock a WAL record,
-- and each lock on a row others already hold a new MultiXact (`make bench
-- -profile`: 13,814 MultiXact pages read in an 8-client decisions phase,
-- 600 without the key; throughput on 2 cores moved within its noise).
-- Workspaces are never deleted, and the core queues a row only in the
-- transaction that has just read its workspace, so the key protected
-- nothing the core does not; the outbox is a queue and, like the audit
-- log, keeps no key.

-- +goose Up
ALTER TABLE outbox DROP CONSTRAINT outbox_workspace_id_fkey;

-- +goose Down
ALTER TABLE outbox ADD CONSTRAINT outbox_workspace_id_fkey
    FOREIGN KEY (workspace_id) REFERENCES workspaces (id);
