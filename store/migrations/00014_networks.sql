-- The social network an account posts to, which decides the limits its
-- drafts are checked against (approvals/netlimits.go). Accounts made before
-- it post to no particular network: 'other', which has no limits. The list
-- of networks is the core's (approvals.Networks); the CHECK is a backstop.

-- +goose Up
ALTER TABLE accounts ADD COLUMN network text NOT NULL DEFAULT 'other',
    ADD CONSTRAINT accounts_network_check CHECK (network IN
        ('instagram', 'facebook', 'linkedin', 'x', 'tiktok', 'threads', 'pinterest', 'youtube', 'other'));

-- +goose Down
ALTER TABLE accounts DROP COLUMN network;
