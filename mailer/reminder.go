package mailer

import "github.com/signoff-app/signoff/approvals"

// subjectPrefix marks an approval request sent again: a reminder, or the
// request to a backup approver the deadline policy added.
func subjectPrefix(n approvals.Notification) string {
	switch n.Event {
	case approvals.EventReminder:
		return "Reminder: "
	case approvals.EventEscalated:
		return "Backup approver: "
	}
	return ""
}

// outcomeOf names a deadline event for the deadline templates.
func outcomeOf(e approvals.Event) string {
	if e == approvals.EventExpired {
		return "expired"
	}
	return "auto_approved"
}
