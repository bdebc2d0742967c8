package auth

import (
	"fmt"
	"strings"
	"time"
)

// Throttle is the sign-in policy: after too many failures within Window for
// one account, or from one address, further attempts are refused until the
// oldest counted failure leaves the window. Per-account limits stop guessing
// one password; per-address limits stop one client trying many accounts.
type Throttle struct {
	Window       time.Duration
	AccountLimit int
	AddrLimit    int
}

// DefaultThrottle allows 5 failures per account and 20 per address in 15
// minutes: a person who mistypes is never stopped, a script is stopped fast.
var DefaultThrottle = Throttle{Window: 15 * time.Minute, AccountLimit: 5, AddrLimit: 20}

// Failures is what the store counted within the window.
type Failures struct {
	Account, Addr             int
	AccountOldest, AddrOldest *time.Time
}

// ThrottledError says sign-in is refused for a while, and why.
type ThrottledError struct {
	PerAccount bool
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	who := "from your network address"
	if e.PerAccount {
		who = "for this account"
	}
	return fmt.Sprintf("Too many failed sign-ins %s. Try again in %s.", who, humanMinutes(e.RetryAfter))
}

// Check returns a *ThrottledError when f is over the limits at now.
func (p Throttle) Check(f Failures, now time.Time) error {
	if f.Account >= p.AccountLimit && f.AccountOldest != nil {
		return &ThrottledError{PerAccount: true, RetryAfter: f.AccountOldest.Add(p.Window).Sub(now)}
	}
	if f.Addr >= p.AddrLimit && f.AddrOldest != nil {
		return &ThrottledError{RetryAfter: f.AddrOldest.Add(p.Window).Sub(now)}
	}
	return nil
}

// AccountKey is how an account is counted: the email as typed, trimmed and
// lower-cased, whether or not such a user exists (so the throttle does not
// reveal which emails are accounts).
func AccountKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func humanMinutes(d time.Duration) string {
	m := int((d + time.Minute - 1) / time.Minute)
	if m <= 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}
