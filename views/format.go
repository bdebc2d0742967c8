// Package views holds Backstop's templ components. Views receive plain values
// and never touch the database; handlers in package web load and pass them.
package views

import (
	"fmt"
	"strconv"
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
