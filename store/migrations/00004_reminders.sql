-- Reminders and deadline policies: what an account does about drafts that
-- wait too long on a tier, and the records that make each reminder and each
-- policy action happen once per (draft, revision, tier), however many
-- sweepers run.

-- +goose Up

-- Per-account settings. remind_after exists since 00001.
ALTER TABLE accounts
    ADD COLUMN remind_max integer NOT NULL DEFAULT 3,
    ADD COLUMN deadline_policy text NOT NULL DEFAULT 'none',
    ADD COLUMN deadline_margin interval NOT NULL DEFAULT '15 minutes',
    ADD COLUMN decide_within interval, -- NULL: no deadline for unscheduled drafts
    ADD COLUMN backup_approver_id bigint,
    ADD CONSTRAINT accounts_remind_max_check CHECK (remind_max BETWEEN 0 AND 100),
    ADD CONSTRAINT accounts_deadline_policy_check
        CHECK (deadline_policy IN ('none', 'expire', 'auto-approve', 'escalate')),
    ADD CONSTRAINT accounts_deadline_margin_check CHECK (deadline_margin >= interval '0'),
    ADD CONSTRAINT accounts_decide_within_check CHECK (decide_within > interval '0'),
    -- Escalating needs someone to escalate to: deleting the backup approver
    -- of such an account is refused until the policy changes.
    ADD CONSTRAINT accounts_escalate_backup_check
        CHECK (deadline_policy <> 'escalate' OR backup_approver_id IS NOT NULL),
    ADD CONSTRAINT accounts_backup_approver_fkey FOREIGN KEY (workspace_id, backup_approver_id)
        REFERENCES members (workspace_id, id) ON DELETE SET NULL (backup_approver_id);
CREATE INDEX accounts_backup_approver_idx ON accounts (backup_approver_id) WHERE backup_approver_id IS NOT NULL;

-- A new terminal state: the deadline policy "expire" ended the draft.
ALTER TABLE drafts DROP CONSTRAINT drafts_state_check,
    ADD CONSTRAINT drafts_state_check CHECK (
        state IN ('pending_internal', 'pending_client', 'approved', 'rejected', 'withdrawn', 'expired'));

-- A decision by the deadline policy "auto-approve" has no approver (the
-- history names it "Signoff policy"); it is made on the system channel, and
-- at most once per (draft, revision, tier).
ALTER TABLE decisions ALTER COLUMN approver_id DROP NOT NULL,
    ADD CONSTRAINT decisions_policy_check CHECK (approver_id IS NOT NULL OR (channel = 'system' AND verdict = 'approve'));
CREATE UNIQUE INDEX decisions_policy_once_key ON decisions (draft_id, revision, tier) WHERE approver_id IS NULL;

-- The clock of the tier a draft waits on: when it entered it, and when the
-- sweeper should look at it next (NULL: nothing left to do). Written with
-- the draft's row lock held, so the sweeper, which locks the draft first,
-- always reads it fresh. One row per draft; entering a tier replaces it.
CREATE TABLE draft_clocks (
    draft_id     bigint PRIMARY KEY,
    workspace_id bigint NOT NULL,
    revision     integer NOT NULL,
    tier         text NOT NULL,
    entered_at   timestamptz NOT NULL,
    due_at       timestamptz,
    CONSTRAINT draft_clocks_tier_check CHECK (tier IN ('internal', 'client')),
    CONSTRAINT draft_clocks_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT draft_clocks_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number)
);
-- The sweeper's query: pending work by due time.
CREATE INDEX draft_clocks_due_idx ON draft_clocks (due_at, draft_id) WHERE due_at IS NOT NULL;

-- Each reminder sent: at most one per number, numbers from 1, per
-- (draft, revision, tier). The count is checked against remind_max in Go.
CREATE TABLE draft_reminders (
    workspace_id bigint NOT NULL,
    draft_id     bigint NOT NULL,
    revision     integer NOT NULL,
    tier         text NOT NULL,
    number       integer NOT NULL,
    recipients   integer NOT NULL,
    sent_at      timestamptz NOT NULL,
    CONSTRAINT draft_reminders_pkey PRIMARY KEY (draft_id, revision, tier, number),
    CONSTRAINT draft_reminders_number_check CHECK (number BETWEEN 1 AND 100),
    CONSTRAINT draft_reminders_tier_check CHECK (tier IN ('internal', 'client')),
    CONSTRAINT draft_reminders_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT draft_reminders_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number)
);

-- Each deadline policy action: at most one per (draft, revision, tier).
CREATE TABLE draft_deadlines (
    workspace_id bigint NOT NULL,
    draft_id     bigint NOT NULL,
    revision     integer NOT NULL,
    tier         text NOT NULL,
    policy       text NOT NULL,
    outcome      text NOT NULL,
    deadline_at  timestamptz NOT NULL,
    applied_at   timestamptz NOT NULL,
    CONSTRAINT draft_deadlines_pkey PRIMARY KEY (draft_id, revision, tier),
    CONSTRAINT draft_deadlines_tier_check CHECK (tier IN ('internal', 'client')),
    CONSTRAINT draft_deadlines_policy_check CHECK (policy IN ('expire', 'auto-approve', 'escalate')),
    CONSTRAINT draft_deadlines_outcome_check CHECK (outcome ~ '[^[:space:]]'),
    CONSTRAINT draft_deadlines_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT draft_deadlines_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number)
);

-- Approvers the policy "escalate" added to one draft's revision and tier,
-- besides the account's own. The backup must be able to see the account
-- (checked in Go when escalating); a member with history is never deleted.
CREATE TABLE draft_extra_approvers (
    workspace_id bigint NOT NULL,
    draft_id     bigint NOT NULL,
    revision     integer NOT NULL,
    tier         text NOT NULL,
    member_id    bigint NOT NULL,
    added_at     timestamptz NOT NULL,
    CONSTRAINT draft_extra_approvers_pkey PRIMARY KEY (draft_id, revision, tier, member_id),
    CONSTRAINT draft_extra_approvers_tier_check CHECK (tier IN ('internal', 'client')),
    CONSTRAINT draft_extra_approvers_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id),
    CONSTRAINT draft_extra_approvers_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number),
    CONSTRAINT draft_extra_approvers_member_fkey FOREIGN KEY (workspace_id, member_id)
        REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX draft_extra_approvers_member_idx ON draft_extra_approvers (member_id);

-- +goose Down
DROP TABLE draft_extra_approvers;
DROP TABLE draft_deadlines;
DROP TABLE draft_reminders;
DROP TABLE draft_clocks;
DELETE FROM decisions WHERE approver_id IS NULL;
DROP INDEX decisions_policy_once_key;
ALTER TABLE decisions DROP CONSTRAINT decisions_policy_check,
    ALTER COLUMN approver_id SET NOT NULL;
UPDATE drafts SET state = 'rejected' WHERE state = 'expired';
ALTER TABLE drafts DROP CONSTRAINT drafts_state_check,
    ADD CONSTRAINT drafts_state_check CHECK (
        state IN ('pending_internal', 'pending_client', 'approved', 'rejected', 'withdrawn'));
DROP INDEX accounts_backup_approver_idx;
ALTER TABLE accounts DROP CONSTRAINT accounts_backup_approver_fkey,
    DROP CONSTRAINT accounts_escalate_backup_check,
    DROP COLUMN backup_approver_id,
    DROP COLUMN decide_within,
    DROP COLUMN deadline_margin,
    DROP COLUMN deadline_policy,
    DROP COLUMN remind_max;
