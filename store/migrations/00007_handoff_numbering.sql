-- Hand-off numbers are given when hand-offs are read, not in the
-- transaction that approves a draft. Numbering at approval locked the
-- workspace's counter row until commit, so every approval in a workspace
-- waited for the one before it to commit (measured by `make bench`: the
-- upsert took most of a decision's database time). Now an approval inserts
-- its hand-off unnumbered, and a reader numbers the workspace's committed
-- unnumbered rows in approval order under that same row lock: numbering
-- runs follow one another, so a reader still never sees number n+1 before
-- n, and the API's cursor never skips a late commit.

-- +goose Up
ALTER TABLE handoffs ALTER COLUMN seq DROP NOT NULL;
CREATE INDEX handoffs_unnumbered_idx ON handoffs (workspace_id, approved_at, draft_id) WHERE seq IS NULL;

-- +goose Down
WITH todo AS (
    SELECT h.draft_id,
           coalesce((SELECT s.last FROM handoff_seq s WHERE s.workspace_id = h.workspace_id), 0)
             + row_number() OVER (PARTITION BY h.workspace_id ORDER BY h.approved_at, h.draft_id) AS seq
    FROM handoffs h WHERE h.seq IS NULL
)
UPDATE handoffs h SET seq = todo.seq FROM todo WHERE h.draft_id = todo.draft_id;
INSERT INTO handoff_seq AS s (workspace_id, last)
SELECT workspace_id, max(seq) FROM handoffs GROUP BY workspace_id
ON CONFLICT (workspace_id) DO UPDATE SET last = greatest(s.last, excluded.last);
DROP INDEX handoffs_unnumbered_idx;
ALTER TABLE handoffs ALTER COLUMN seq SET NOT NULL;
