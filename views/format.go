// Package views holds Backstop's templ components. Views receive plain values
// and never touch the database; handlers in package web load and pass them.
package views

import "strconv"

func itoa(n int) string { return strconv.Itoa(n) }
