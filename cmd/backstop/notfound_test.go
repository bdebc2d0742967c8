package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A command given a tenant that does not exist says which one, as main
// prints it (the public part of the error), and exits 2.
func TestUnknownTenantIsNamed(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	for _, args := range [][]string{
		{"reconcile", "--tenant", "nope"},
		{"reconcile", "--tenant", "nope", "--pass", "stuck"},
		{"tenant", "set", "--slug", "nope", "--stuck-after", "12h"},
		{"user", "add", "--email", "s@example.org", "--role", "staff", "--tenant", "nope"},
		{"report", "--tenant", "nope"},
		{"audit", "export", "--tenant", "nope"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), args, &stdio{in: strings.NewReader("a long password\n"), out: &out, err: &errb,
				getenv: func(k string) string { return c.env[k] }})
			if err == nil || exitCode(err) != 2 || message(err) != `tenant "nope" not found` {
				t.Errorf("got %v (exit %d), printed %q; want exit 2 printing tenant \"nope\" not found", err, exitCode(err), message(err))
			}
		})
	}
}
