package virtuous

import (
	"context"
	"time"
)

// SetSleep replaces c's wait between attempts, so that tests outside the
// package can record the waits instead of sitting them out.
func SetSleep(c *Client, f func(context.Context, time.Duration) error) { c.sleep = f }

// Sleep is the client's own wait, for a test sleeper that records and then
// really waits.
var Sleep = sleep
