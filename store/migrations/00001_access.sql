-- Workspaces, members, groups, social accounts, access and approvers, with
-- the two access invariants of the product enforced here rather than in Go:
--
--  1. an approver has access to the account and the role of its tier
--     (SQLSTATE SO001), and losing access drops the approver flag in the
--     same transaction;
--  2. an account that needs a tier's approval has at least one approver in
--     that tier, checked at commit (SQLSTATE SO002).
--
-- Every change that can remove an approver or access locks the account row
-- (FOR NO KEY UPDATE) first, so two transactions racing to remove the last
-- two approvers serialise and the second one's commit-time check sees the
-- first one's change, under READ COMMITTED.
--
-- Tables that hang off a workspace carry workspace_id and reference their
-- parents by (workspace_id, id), so no row can point across workspaces.

-- +goose Up
CREATE TABLE workspaces (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug             text NOT NULL,
    name             text NOT NULL,
    slack_team_id    text,
    internal_channel text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT workspaces_slug_key UNIQUE (slug),
    CONSTRAINT workspaces_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    CONSTRAINT workspaces_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT workspaces_slack_team_key UNIQUE (slack_team_id)
);

CREATE TABLE members (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  bigint NOT NULL REFERENCES workspaces (id),
    email         text NOT NULL,
    name          text NOT NULL DEFAULT '',
    role          text NOT NULL,
    slack_user_id text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT members_workspace_id_key UNIQUE (workspace_id, id),
    CONSTRAINT members_slack_user_key UNIQUE (workspace_id, slack_user_id),
    CONSTRAINT members_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    CONSTRAINT members_role_check CHECK (role IN ('owner', 'admin', 'editor', 'client'))
);
-- Emails are unique per workspace whatever their case.
CREATE UNIQUE INDEX members_email_key ON members (workspace_id, lower(email));

CREATE TABLE groups (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL REFERENCES workspaces (id),
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT groups_workspace_id_key UNIQUE (workspace_id, id),
    CONSTRAINT groups_name_check CHECK (btrim(name) <> '')
);
CREATE UNIQUE INDEX groups_name_key ON groups (workspace_id, lower(name));

CREATE TABLE group_members (
    workspace_id bigint NOT NULL,
    group_id     bigint NOT NULL,
    member_id    bigint NOT NULL,
    CONSTRAINT group_members_pkey PRIMARY KEY (group_id, member_id),
    CONSTRAINT group_members_group_fkey FOREIGN KEY (workspace_id, group_id)
        REFERENCES groups (workspace_id, id) ON DELETE CASCADE,
    CONSTRAINT group_members_member_fkey FOREIGN KEY (workspace_id, member_id)
        REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_member_idx ON group_members (member_id);

CREATE TABLE accounts (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id            bigint NOT NULL REFERENCES workspaces (id),
    handle                  text NOT NULL,
    name                    text NOT NULL,
    needs_internal_approval boolean NOT NULL DEFAULT false,
    needs_client_approval   boolean NOT NULL DEFAULT false,
    internal_rule           text NOT NULL DEFAULT 'any',
    client_rule             text NOT NULL DEFAULT 'any',
    slack_channel           text,
    remind_after            interval NOT NULL DEFAULT '24 hours',
    created_at              timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_workspace_id_key UNIQUE (workspace_id, id),
    CONSTRAINT accounts_handle_format CHECK (handle ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    CONSTRAINT accounts_name_check CHECK (btrim(name) <> ''),
    CONSTRAINT accounts_internal_rule_check CHECK (internal_rule IN ('any', 'all')),
    CONSTRAINT accounts_client_rule_check CHECK (client_rule IN ('any', 'all')),
    CONSTRAINT accounts_remind_after_check CHECK (remind_after >= interval '0')
);
CREATE UNIQUE INDEX accounts_handle_key ON accounts (workspace_id, handle);

CREATE TABLE grants (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id bigint NOT NULL,
    account_id   bigint NOT NULL,
    member_id    bigint,
    group_id     bigint,
    caps         text[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grants_caps_check CHECK (
        caps <@ ARRAY['view', 'comment', 'create', 'manage'] AND 'view' = ANY (caps)),
    CONSTRAINT grants_grantee_check CHECK ((member_id IS NULL) <> (group_id IS NULL)),
    CONSTRAINT grants_member_key UNIQUE (account_id, member_id),
    CONSTRAINT grants_group_key UNIQUE (account_id, group_id),
    CONSTRAINT grants_account_fkey FOREIGN KEY (workspace_id, account_id)
        REFERENCES accounts (workspace_id, id) ON DELETE CASCADE,
    CONSTRAINT grants_member_fkey FOREIGN KEY (workspace_id, member_id)
        REFERENCES members (workspace_id, id) ON DELETE CASCADE,
    CONSTRAINT grants_group_fkey FOREIGN KEY (workspace_id, group_id)
        REFERENCES groups (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX grants_member_idx ON grants (member_id) WHERE member_id IS NOT NULL;
CREATE INDEX grants_group_idx ON grants (group_id) WHERE group_id IS NOT NULL;

CREATE TABLE approvers (
    workspace_id bigint NOT NULL,
    account_id   bigint NOT NULL,
    member_id    bigint NOT NULL,
    tier         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT approvers_pkey PRIMARY KEY (account_id, member_id, tier),
    CONSTRAINT approvers_tier_check CHECK (tier IN ('internal', 'client')),
    CONSTRAINT approvers_account_fkey FOREIGN KEY (workspace_id, account_id)
        REFERENCES accounts (workspace_id, id) ON DELETE CASCADE,
    -- Cascading from members makes deleting a member go through the
    -- approvers triggers below, so invariant 2 is checked for it too.
    CONSTRAINT approvers_member_fkey FOREIGN KEY (workspace_id, member_id)
        REFERENCES members (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX approvers_member_idx ON approvers (member_id);

-- has_access reports whether a member may see an account at all: owners
-- always may; others need a direct grant or a grant to one of their groups.
-- +goose StatementBegin
CREATE FUNCTION has_access(p_account_id bigint, p_member_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM members m WHERE m.id = p_member_id AND m.role = 'owner')
        OR EXISTS (SELECT 1 FROM grants g
                   WHERE g.account_id = p_account_id AND g.member_id = p_member_id)
        OR EXISTS (SELECT 1 FROM grants g
                   JOIN group_members gm ON gm.group_id = g.group_id
                   WHERE g.account_id = p_account_id AND gm.member_id = p_member_id)
$$;
-- +goose StatementEnd

-- lock_account serialises every change to an account's access and approvers
-- (see the header). NO KEY UPDATE does not block inserts that merely
-- reference the account (drafts, grants), which take KEY SHARE.
-- +goose StatementBegin
CREATE FUNCTION lock_account(p_account_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts WHERE id = p_account_id FOR NO KEY UPDATE;
END
$$;
-- +goose StatementEnd

-- Invariant 1 on the way in: the member must have the tier's role and access.
-- +goose StatementBegin
CREATE FUNCTION approvers_check_access() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_handle text;
    v_email  text;
    v_role   text;
BEGIN
    -- FOR SHARE waits for a concurrent role change and reads its result.
    -- The member is locked before the account, the order in which updating
    -- or deleting a member takes them.
    SELECT email, role INTO v_email, v_role FROM members WHERE id = NEW.member_id FOR SHARE;
    PERFORM lock_account(NEW.account_id);
    SELECT handle INTO v_handle FROM accounts WHERE id = NEW.account_id;
    IF v_handle IS NULL OR v_email IS NULL THEN
        -- The foreign keys report the missing row.
        RETURN NEW;
    END IF;
    IF NEW.tier = 'internal' AND v_role NOT IN ('owner', 'admin') THEN
        RAISE EXCEPTION USING ERRCODE = 'SO001',
            MESSAGE = format('%s cannot be an internal approver of account "%s": internal approvers must be owners or admins, and %s is %s %s',
                             v_email, v_handle, v_email, CASE WHEN v_role = 'client' THEN 'a' ELSE 'an' END, v_role);
    END IF;
    IF NEW.tier = 'client' AND v_role <> 'client' THEN
        RAISE EXCEPTION USING ERRCODE = 'SO001',
            MESSAGE = format('%s cannot be a client approver of account "%s": client approvers must be clients, and %s is %s %s',
                             v_email, v_handle, v_email, CASE WHEN v_role = 'client' THEN 'a' ELSE 'an' END, v_role);
    END IF;
    IF NOT has_access(NEW.account_id, NEW.member_id) THEN
        RAISE EXCEPTION USING ERRCODE = 'SO001',
            MESSAGE = format('%s cannot be %s %s approver of account "%s": they have no access to it; grant access first',
                             v_email, CASE WHEN NEW.tier = 'internal' THEN 'an' ELSE 'a' END, NEW.tier, v_handle);
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER approvers_check_access BEFORE INSERT OR UPDATE ON approvers
    FOR EACH ROW EXECUTE FUNCTION approvers_check_access();

-- Removing an approver (directly, or as a consequence of losing access or
-- being deleted) locks the account first; see the header.
-- +goose StatementBegin
CREATE FUNCTION approvers_lock_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lock_account(OLD.account_id);
    RETURN OLD;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER approvers_lock_on_delete BEFORE DELETE ON approvers
    FOR EACH ROW EXECUTE FUNCTION approvers_lock_on_delete();

-- Invariant 2, checked at commit so that a transaction may switch approvers
-- (remove one, add another) or create an account together with its first
-- approvers.
-- +goose StatementBegin
CREATE FUNCTION check_tier_approvers() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_account_id bigint;
    a accounts;
BEGIN
    IF TG_TABLE_NAME = 'accounts' THEN
        v_account_id := NEW.id;
    ELSE
        v_account_id := OLD.account_id;
    END IF;
    SELECT * INTO a FROM accounts WHERE id = v_account_id;
    IF NOT FOUND THEN
        RETURN NULL; -- the account itself is gone
    END IF;
    IF a.needs_internal_approval AND NOT EXISTS (
        SELECT 1 FROM approvers WHERE account_id = a.id AND tier = 'internal') THEN
        RAISE EXCEPTION USING ERRCODE = 'SO002',
            MESSAGE = format('account "%s" needs internal approval but would have no internal approver; add another internal approver first or turn internal approval off', a.handle);
    END IF;
    IF a.needs_client_approval AND NOT EXISTS (
        SELECT 1 FROM approvers WHERE account_id = a.id AND tier = 'client') THEN
        RAISE EXCEPTION USING ERRCODE = 'SO002',
            MESSAGE = format('account "%s" needs client approval but would have no client approver; add another client approver first or turn client approval off', a.handle);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER approvers_tier_not_empty
    AFTER DELETE OR UPDATE ON approvers
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_tier_approvers();

CREATE CONSTRAINT TRIGGER accounts_tier_has_approver
    AFTER INSERT OR UPDATE OF needs_internal_approval, needs_client_approval ON accounts
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION check_tier_approvers();

-- Invariant 1 on the way out: losing access drops the approver flags.

-- +goose StatementBegin
CREATE FUNCTION grants_lock_on_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM lock_account(OLD.account_id);
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER grants_lock_on_change BEFORE DELETE OR UPDATE OF account_id, member_id, group_id ON grants
    FOR EACH ROW EXECUTE FUNCTION grants_lock_on_change();

-- +goose StatementBegin
CREATE FUNCTION grants_drop_approvers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM approvers a
    WHERE a.account_id = OLD.account_id
      AND NOT has_access(a.account_id, a.member_id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER grants_drop_approvers AFTER DELETE OR UPDATE OF account_id, member_id, group_id ON grants
    FOR EACH ROW EXECUTE FUNCTION grants_drop_approvers();

-- Leaving a group loses that group's grants: lock every account the group
-- has a grant on, in id order so concurrent removals cannot deadlock.
-- +goose StatementBegin
CREATE FUNCTION group_members_lock_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts
    WHERE id IN (SELECT account_id FROM grants WHERE group_id = OLD.group_id)
    ORDER BY id
    FOR NO KEY UPDATE;
    RETURN OLD;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER group_members_lock_on_delete BEFORE DELETE ON group_members
    FOR EACH ROW EXECUTE FUNCTION group_members_lock_on_delete();

-- +goose StatementBegin
CREATE FUNCTION group_members_drop_approvers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM approvers a
    WHERE a.member_id = OLD.member_id
      AND a.account_id IN (SELECT account_id FROM grants WHERE group_id = OLD.group_id)
      AND NOT has_access(a.account_id, a.member_id);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER group_members_drop_approvers AFTER DELETE ON group_members
    FOR EACH ROW EXECUTE FUNCTION group_members_drop_approvers();

-- A role change can take away access (an owner demoted) or the role a tier
-- needs: drop the flags that no longer hold, and let invariant 2 refuse the
-- change at commit if a tier would be left empty.
-- +goose StatementBegin
CREATE FUNCTION members_drop_approvers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts
    WHERE id IN (SELECT account_id FROM approvers WHERE member_id = NEW.id)
    ORDER BY id
    FOR NO KEY UPDATE;
    DELETE FROM approvers a
    WHERE a.member_id = NEW.id
      AND (NOT has_access(a.account_id, a.member_id)
           OR (a.tier = 'internal' AND NEW.role NOT IN ('owner', 'admin'))
           OR (a.tier = 'client' AND NEW.role <> 'client'));
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER members_drop_approvers AFTER UPDATE OF role ON members
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role)
    EXECUTE FUNCTION members_drop_approvers();

-- +goose Down
DROP TABLE approvers;
DROP TABLE grants;
DROP TABLE accounts;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE members;
DROP TABLE workspaces;
DROP FUNCTION members_drop_approvers();
DROP FUNCTION group_members_drop_approvers();
DROP FUNCTION group_members_lock_on_delete();
DROP FUNCTION grants_drop_approvers();
DROP FUNCTION grants_lock_on_change();
DROP FUNCTION check_tier_approvers();
DROP FUNCTION approvers_lock_on_delete();
DROP FUNCTION approvers_check_access();
DROP FUNCTION lock_account(bigint);
DROP FUNCTION has_access(bigint, bigint);
