-- Audiences: what clients may see of a draft, and the review window a
-- deadline policy waits for.
--
-- drafts.client_revisions lists the revisions that reached the client tier,
-- in order: a client sees a draft only once the list is not empty (or they
-- wrote it), and of it only those revisions. The core appends to it when a
-- draft enters pending_client; it is saved with the draft's state.
-- comments.internal marks a remark staff keep from clients.
-- accounts.min_review is how long a tier's approvers have, at least, before
-- a deadline policy may act on that tier.

-- +goose Up
ALTER TABLE drafts ADD COLUMN client_revisions integer[] NOT NULL DEFAULT '{}';
ALTER TABLE comments ADD COLUMN internal boolean NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN min_review interval NOT NULL DEFAULT interval '4 hours',
    ADD CONSTRAINT accounts_min_review_check CHECK (min_review >= interval '0');

-- Revisions that reached clients before this migration: those with a
-- client-tier decision or clock, and the current one of a draft waiting on
-- (or approved after) the client tier.
UPDATE drafts d SET client_revisions = x.revs
FROM (
    SELECT r.draft_id, array_agg(r.number ORDER BY r.number) AS revs
    FROM revisions r
    JOIN drafts dr ON dr.id = r.draft_id
    WHERE EXISTS (SELECT 1 FROM decisions x WHERE x.draft_id = r.draft_id AND x.revision = r.number AND x.tier = 'client')
       OR EXISTS (SELECT 1 FROM draft_clocks c WHERE c.draft_id = r.draft_id AND c.revision = r.number AND c.tier = 'client')
       OR (dr.revision = r.number AND dr.state = 'pending_client')
       OR (dr.revision = r.number AND dr.state = 'approved' AND r.needs_client)
    GROUP BY r.draft_id
) x
WHERE d.id = x.draft_id;

-- A client's draft list: drafts that reached clients, per account.
CREATE INDEX drafts_client_visible_idx ON drafts (workspace_id, account_id, id DESC)
    WHERE client_revisions <> '{}';

-- System notes about the internal tier are internal.
UPDATE comments SET internal = true
WHERE channel = 'system' AND text LIKE 'No internal approver is left%';

-- +goose Down
DROP INDEX drafts_client_visible_idx;
ALTER TABLE accounts DROP CONSTRAINT accounts_min_review_check, DROP COLUMN min_review;
ALTER TABLE comments DROP COLUMN internal;
ALTER TABLE drafts DROP COLUMN client_revisions;
