-- Media previews.
--
-- workspaces.media_hosts lists the hosts media previews may be fetched
-- from (the core parses and matches them); empty fetches nothing.
--
-- revisions.media is what fetching each media URL of the revision found
-- (type, size, dimensions, or the reason it could not be previewed), one
-- JSON object per URL in order; '[]' when nothing was fetched.
--
-- media_thumbs holds the thumbnail of one media URL of a revision; a
-- revision that carries its media over gets copies. Thumbnails go with
-- their revision.

-- +goose Up
ALTER TABLE workspaces ADD COLUMN media_hosts text[] NOT NULL DEFAULT '{}';
ALTER TABLE revisions ADD COLUMN media jsonb NOT NULL DEFAULT '[]';
ALTER TABLE revisions ADD CONSTRAINT revisions_media_check CHECK (jsonb_typeof(media) = 'array');

CREATE TABLE media_thumbs (
    workspace_id bigint NOT NULL,
    draft_id     bigint NOT NULL,
    revision     integer NOT NULL,
    idx          integer NOT NULL,
    content_type text NOT NULL,
    data         bytea NOT NULL,
    CONSTRAINT media_thumbs_pkey PRIMARY KEY (draft_id, revision, idx),
    CONSTRAINT media_thumbs_idx_check CHECK (idx BETWEEN 0 AND 9),
    CONSTRAINT media_thumbs_type_check CHECK (content_type IN ('image/jpeg', 'image/png')),
    CONSTRAINT media_thumbs_size_check CHECK (octet_length(data) BETWEEN 1 AND 1048576),
    CONSTRAINT media_thumbs_draft_fkey FOREIGN KEY (workspace_id, draft_id)
        REFERENCES drafts (workspace_id, id) ON DELETE CASCADE,
    CONSTRAINT media_thumbs_revision_fkey FOREIGN KEY (draft_id, revision)
        REFERENCES revisions (draft_id, number) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE media_thumbs;
ALTER TABLE revisions DROP COLUMN media;
ALTER TABLE workspaces DROP COLUMN media_hosts;
