// Package views holds Backstop's templ components. Views receive plain values
// and never touch the database; handlers in package web load and pass them.
package views

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// Exact is a timestamp in full, for hover text and facts: "2026-11-02 10:04:05 UTC".
func Exact(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// Ago says how long before now t was, in words a person reads at a glance.
func Ago(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		s = plural(int(d/(24*time.Hour)), "day")
	default:
		return t.UTC().Format("2 Jan 2006")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Age is a short duration for a badge: "45m", "5h", "3d 4h".
func Age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", max(int(d/time.Minute), 0))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if hours == 0 || days >= 10 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd %dh", days, hours)
}

// ageLevel is the badge colour of an age: "" (fresh), "amber" or "red".
func ageLevel(d, amber, red time.Duration) string {
	switch {
	case red > 0 && d >= red:
		return "red"
	case amber > 0 && d >= amber:
		return "amber"
	}
	return "fresh"
}

// Long is a duration in words for explanations: "3 days", "72 hours".
func Long(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return plural(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/time.Minute), "minute")
}

// StatusLabel names a status for people.
func StatusLabel(s string) string {
	switch s {
	case "needs_review":
		return "Needs review"
	case "pending":
		return "Pending"
	case "submitted":
		return "Submitted"
	case "confirmed":
		return "Confirmed"
	case "failed":
		return "Failed"
	case "conflict":
		return "Conflict"
	case "discarded":
		return "Discarded"
	}
	return s
}

// SourceLabel names a source for people.
func SourceLabel(s string) string {
	switch s {
	case "stripe":
		return "Stripe"
	case "eventbrite":
		return "Eventbrite"
	}
	return "Other"
}

// ActionLabel says what an audit action was, in words.
func ActionLabel(a string) string { return labelOf(actionLabels, a) }

var actionLabels = map[string]string{
	"intake.created":           "Received from the platform",
	"intake.updated":           "Updated by the platform before it was sent",
	"intake.resubmitted":       "Corrected by the platform and sent again",
	"intake.platform_change":   "Changed by the platform after it was sent",
	"submit.accepted":          "Sent to Virtuous, which accepted it",
	"submit.retry":             "A submission attempt failed; Backstop will retry",
	"submit.failed":            "Virtuous refused it",
	"reconcile.needs_review":   "Moved to needs review: Virtuous has not matched it",
	"reconcile.applied":        "A Virtuous change was applied by reconciliation",
	"confirmed.webhook":        "Confirmed by a Virtuous webhook",
	"webhook.failed":           "A Virtuous webhook could not be applied",
	"confirmed.reconciliation": "Confirmed by reconciliation (the webhook never came)",
	"confirmed.lookup":         "Confirmed by a live lookup",
	"confirmed.manual":         "Confirmed from the missing-record runbook",
	"drift.conflict":           "Conflict: the platform and Virtuous disagree",
	"drift.resolved":           "Drift resolved",
	"conflict.resolved":        "Conflict resolved",
	"review.checked":           "Checked Virtuous: not there yet",
	"review.discarded":         "Discarded",
	"review.retried":           "Retried",
	"review.edited":            "Edited and retried",
	"runbook.applied":          "Recovered from Virtuous through the runbook",
	"reconcile.not_found":      "Looked up in Virtuous: not there yet",
	"reconcile.deleted":        "Deleted in Virtuous",
	"reconcile.virtuous_only":  "Found only in Virtuous",
	"drift.pushed":             "Resolution written to Virtuous",
	"drift.push_failed":        "Writing the resolution to Virtuous failed",
	"escalation.raised":        "Escalated to engineering",
	"escalation.acknowledged":  "Escalation acknowledged",
}

// ActionOptions are the known audit actions for a filter, by label.
func ActionOptions() []Option {
	out := make([]Option, 0, len(actionLabels))
	for a, l := range actionLabels {
		out = append(out, Option{Value: a, Label: l})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out
}

// CategoryLabel names an audit category for people.
func CategoryLabel(c string) string { return labelOf(categoryLabels, c) }

var categoryLabels = map[string]string{
	"intake":       "Intake",
	"submission":   "Submission",
	"webhook":      "Webhook",
	"stuck":        "Stuck transactions",
	"needs_review": "Needs review",
	"missed":       "Missed webhooks",
	"drift":        "Drift",
	"review":       "A person's action",
	"escalation":   "Escalation",
	"settings":     "Settings",
}

// EscalationLabel names an escalation kind for people.
func EscalationLabel(k string) string { return labelOf(escalationLabels, k) }

var escalationLabels = map[string]string{
	"failed_records":       "Failed records",
	"needs_review_growth":  "Needs review growing",
	"drift_spike":          "Drift across many records",
	"recovered_share":      "Recovered share spiked",
	"pass_failing":         "A pass keeps failing",
	"pending_stale":        "Pending not draining",
	"submitted_persistent": "Submitted, persistently unconfirmed",
	"conflict_growth":      "Conflicts growing",
	"latency_increase":     "Latency rising",
}

// PassLabel names a reconciliation pass with its spec category.
func PassLabel(p string) string {
	switch p {
	case "missed":
		return "Missed webhooks"
	case "stuck":
		return "Stuck & needs review"
	case "drift":
		return "Drift"
	}
	return p
}

// VerdictLabel says a report verdict in words ("" is no report).
func VerdictLabel(v string) string {
	switch v {
	case "healthy":
		return "Healthy"
	case "investigate":
		return "Investigate"
	case "no_data":
		return "No data"
	}
	return "No report"
}

var apiErrorRE = regexp.MustCompile(`^(.*?)virtuous: (GET|POST|PUT|DELETE) (\S+): (\d{3})(?: ([A-Z_]+))?(?:: (.*))?$`)

// ErrorWords splits a stored Virtuous error into what a person reads first
// (Virtuous' own message) and the technical detail (status, request).
func ErrorWords(s string) (words, detail string) {
	m := apiErrorRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return s, ""
	}
	prefix, method, path, status, code, msg := m[1], m[2], m[3], m[4], m[5], m[6]
	if msg == "" {
		msg = "Virtuous gave no reason"
	}
	detail = "HTTP " + status
	if code != "" {
		detail += " " + code
	}
	return strings.TrimSpace(prefix + " " + msg), detail + " from " + method + " " + path
}

// CountCap mirrors store.QueueCountCap: a count above it reads "10,000+".
const CountCap = 10_000

// Count is a queue count for a tab or a card.
func Count(n int) string {
	if n > CountCap {
		return "10,000+"
	}
	return itoa(n)
}

// CountWords is Count for screen readers.
func CountWords(n int) string {
	switch {
	case n > CountCap:
		return "more than 10,000 records"
	case n == 1:
		return "1 record"
	}
	return itoa(n) + " records"
}

// Thousands writes n with thousands separators: 96,000.
func Thousands(n int) string {
	s := itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

// Took is how long something ran: "12s" under a minute, else as Age.
func Took(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", max(int(d/time.Second), 0))
	}
	return Age(d)
}

// labelOf is key's label in labels, or key itself when it has none.
func labelOf(labels map[string]string, key string) string {
	if l, ok := labels[key]; ok {
		return l
	}
	return key
}
