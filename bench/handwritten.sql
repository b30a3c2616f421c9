-- The least a decision must do on Signoff's schema, written by hand: the
-- ceiling the bench holds decisions through HTTP against. Each client
-- decides the drafts bench_handwritten lists for it, in order (:i counts
-- its transactions, :client_id is pgbench's). The notifications are due
-- tomorrow so that the running server's dispatcher leaves them be. The
-- access test is the schema's has_access written out: a SQL function
-- whose body has subqueries is not inlined, and is planned again on each
-- call (about 0.5 ms here), which the least a decision does would not pay.
\set i :i + 1
BEGIN;
SELECT q.draft_id AS d, q.workspace_id AS w, q.account_id AS acc, q.approver_id AS a,
       m.role AS role,
       (m.role = 'owner'
        OR EXISTS (SELECT 1 FROM grants g WHERE g.account_id = q.account_id AND g.member_id = q.approver_id)
        OR EXISTS (SELECT 1 FROM grants g JOIN group_members gm ON gm.group_id = g.group_id
                    WHERE g.account_id = q.account_id AND gm.member_id = q.approver_id)) AS access,
       EXISTS (SELECT 1 FROM approvers ap
                WHERE ap.account_id = q.account_id AND ap.member_id = q.approver_id AND ap.tier = 'client') AS approver
  FROM bench_handwritten q JOIN members m ON m.id = q.approver_id
 WHERE q.client = :client_id AND q.i = :i \gset
SELECT state, revision AS rev FROM drafts WHERE id = :d AND workspace_id = :w FOR UPDATE \gset
SELECT needs_client, client_rule FROM revisions WHERE draft_id = :d AND number = :rev \gset
SELECT count(*) AS decided FROM decisions WHERE draft_id = :d AND revision = :rev AND tier = 'client' \gset
INSERT INTO decisions (workspace_id, draft_id, revision, tier, approver_id, verdict, channel)
VALUES (:w, :d, :rev, 'client', :a, 'approve', 'api');
UPDATE drafts SET state = 'approved', updated_at = now() WHERE id = :d;
INSERT INTO audit_log (workspace_id, actor_id, actor, channel, action, outcome, draft_id, revision, account_id, ip, user_agent, request_id)
VALUES (:w, :a, 'client@bench.test', 'api', 'draft.approve', 'ok', :d, :rev, :acc, '127.0.0.1', 'bench', 'handwritten');
INSERT INTO outbox (workspace_id, channel, idempotency_key, payload, next_attempt_at)
SELECT :w, c.channel, 'handwritten:' || :d::text || ':' || c.channel,
       jsonb_build_object('event', 'decided', 'workspace_id', :w::bigint, 'draft_id', :d::bigint, 'revision', :rev::int,
                          'tier', 'client', 'actor_id', :a::bigint, 'via', 'api', 'target', c.target),
       now() + interval '1 day'
  FROM (VALUES ('email', 'author@bench.test'), ('slack', 'D0AUTHOR'), ('slack-channel', 'C0INTERNAL')) AS c (channel, target);
END;
