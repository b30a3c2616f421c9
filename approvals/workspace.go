package approvals

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Workspace is one agency tenant. Nothing ever crosses workspaces.
type Workspace struct {
	ID   int64  `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
	// SlackTeamID binds the workspace to a Slack team; empty when unbound.
	SlackTeamID string `json:"slack_team_id,omitempty"`
	// InternalChannel, when set, receives internal-tier requests instead of DMs.
	InternalChannel string `json:"internal_channel,omitempty"`
	// OwnWebhook is true when the workspace has a webhook of its own
	// (see SetWebhook); read-only here.
	OwnWebhook bool `json:"own_webhook,omitempty"`
	// GroupWindow is how long approval requests and reminders to one
	// person wait for others, to go out as one email (0: each at once).
	GroupWindow time.Duration `json:"group_window"`
	// MediaHosts are the hosts media previews may be fetched from
	// (ParseMediaHosts, AllowsMediaHost); none by default.
	MediaHosts []string  `json:"media_hosts,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

var slugRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// CreateWorkspace creates a workspace. Only the operator may.
// Errors: EINVALID (slug, name), ECONFLICT (slug taken), EUNAUTHORIZED.
func (s *Service) CreateWorkspace(ctx context.Context, a Actor, slug, name string) (*Workspace, error) {
	if !a.isOperator() {
		return nil, Errorf(EUNAUTHORIZED, "only the operator may create workspaces")
	}
	slug = strings.TrimSpace(slug)
	if !slugRe.MatchString(slug) {
		return nil, Errorf(EINVALID, "invalid workspace slug %q: use lowercase letters, digits and dashes, starting with a letter or digit", slug)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, Errorf(EINVALID, "workspace name is empty")
	}
	w := &Workspace{Slug: slug, Name: name}
	err := s.store.InTx(ctx, func(ctx context.Context, tx Tx) error {
		if err := tx.CreateWorkspace(ctx, w); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &AuditEntry{WorkspaceID: w.ID, At: s.now(), Actor: a.label(), Channel: a.Channel, Action: "workspace.create", Outcome: OutcomeOK, Detail: slug, Meta: a.Meta})
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// WorkspaceSettings is a partial update of a workspace.
type WorkspaceSettings struct {
	Name            *string
	SlackTeamID     *string
	InternalChannel *string
	GroupWindow     *time.Duration
	MediaHosts      *string // comma-separated, as ParseMediaHosts reads it
}

// SetWorkspace changes a workspace's settings.
// Errors: ENOTFOUND, EINVALID, ECONFLICT (Slack team bound elsewhere), EUNAUTHORIZED.
func (s *Service) SetWorkspace(ctx context.Context, a Actor, set WorkspaceSettings) (*Workspace, error) {
	var out *Workspace
	err := s.change(ctx, a, "workspace.set", func(ctx context.Context, tx Tx, p *principal, e *AuditEntry) error {
		if err := requireAdmin(p, "change the workspace"); err != nil {
			return err
		}
		w := *p.ws
		if set.Name != nil {
			if strings.TrimSpace(*set.Name) == "" {
				return Errorf(EINVALID, "workspace name is empty")
			}
			w.Name = strings.TrimSpace(*set.Name)
		}
		if set.SlackTeamID != nil {
			w.SlackTeamID = strings.TrimSpace(*set.SlackTeamID)
		}
		if set.InternalChannel != nil {
			w.InternalChannel = strings.TrimSpace(*set.InternalChannel)
		}
		if set.GroupWindow != nil {
			if *set.GroupWindow < 0 || *set.GroupWindow > MaxGroupWindow || *set.GroupWindow%time.Second != 0 {
				return Errorf(EINVALID, "invalid grouping window %s: give whole seconds from 0 (each at once) to %s", *set.GroupWindow, MaxGroupWindow)
			}
			w.GroupWindow = *set.GroupWindow
		}
		if set.MediaHosts != nil {
			hosts, err := ParseMediaHosts(*set.MediaHosts)
			if err != nil {
				return err
			}
			w.MediaHosts = hosts
		}
		e.Detail = w.Slug
		out = &w
		return tx.UpdateWorkspace(ctx, &w)
	})
	return out, err
}

// Workspace returns the workspace the actor names.
// Errors: ENOTFOUND, EUNAUTHORIZED.
func (s *Service) Workspace(ctx context.Context, a Actor) (*Workspace, error) {
	var out *Workspace
	err := s.read(ctx, a, "workspace.show", func(ctx context.Context, tx Tx, p *principal) error {
		out = p.ws
		return nil
	})
	return out, err
}
