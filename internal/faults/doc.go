// Package faults is Backstop's fault-injection suite: real `backstop`
// processes, real HTTP to the Virtuous simulator and a real PostgreSQL,
// broken on purpose — workers killed with SIGKILL, PostgreSQL stopped under
// load, Virtuous answering 5xx, hanging, throttling and cutting bodies short,
// bad and oversized input, secrets hunted for in the logs.
//
// The tests are slow, so they build only with the faults tag and run from
// `make test-faults` (see the README's Reliability section); the package
// holds no code of its own.
package faults
