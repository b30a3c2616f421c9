package approvals

// Group is a named set of members of one workspace; grants to a group apply
// to each member, within that member's role ceiling.
type Group struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	Name        string `json:"name"`
}
