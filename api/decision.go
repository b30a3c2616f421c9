package api

import (
	"fmt"
	"net/http"

	"github.com/signoff-app/signoff/approvals"
)

// DecisionRequest is the body of POST /api/v1/drafts/{id}/decisions.
type DecisionRequest struct {
	Verdict approvals.Verdict `json:"verdict"` // "approve" or "reject"
	Comment string            `json:"comment"` // required to reject
	// Revision is the revision the caller read; a decision for one that is
	// no longer current is refused (409). 0 decides on the current one,
	// which the answer names.
	Revision int `json:"revision"`
}

// DecisionResponse is the body of a decision's 200 answer.
type DecisionResponse struct {
	Message string `json:"message"`
	// Noop is true when the member had already made this decision;
	// Decision is then the earlier one.
	Noop     bool                `json:"noop"`
	DraftID  int64               `json:"draft_id"`
	State    approvals.State     `json:"state"` // the draft's state after the decision
	Decision *approvals.Decision `json:"decision"`
}

func (a *API) decide(w http.ResponseWriter, r *http.Request, actor approvals.Actor) {
	id, ok := draftID(w, r)
	if !ok {
		return
	}
	var req DecisionRequest
	if !decode(w, r, &req, false) {
		return
	}
	if req.Verdict != approvals.VerdictApprove && req.Verdict != approvals.VerdictReject {
		writeError(w, http.StatusBadRequest, approvals.EINVALID, fmt.Sprintf(`field "verdict" must be "approve" or "reject", got %q`, req.Verdict))
		return
	}
	if req.Revision < 0 {
		writeError(w, http.StatusBadRequest, approvals.EINVALID, fmt.Sprintf(`field "revision" must be a revision number from 1 (or 0 for the current one), got %d`, req.Revision))
		return
	}
	res, err := a.svc.Decide(r.Context(), actor, approvals.DecideInput{DraftID: id, Revision: req.Revision, Verdict: req.Verdict, Comment: req.Comment})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, DecisionResponse{Message: res.Message, Noop: res.Noop, DraftID: res.Draft.ID, State: res.Draft.State, Decision: res.Decision})
}
