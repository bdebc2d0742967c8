package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) *time.Time { x := now.Add(-d); return &x }
	p := DefaultThrottle
	for _, tc := range []struct {
		name string
		f    Failures
		want string // "" for allowed
	}{
		{"none", Failures{}, ""},
		{"four for the account", Failures{Account: 4, AccountOldest: ago(time.Minute)}, ""},
		{"five for the account", Failures{Account: 5, AccountOldest: ago(time.Minute)}, "Too many failed sign-ins for this account. Try again in 14 minutes."},
		{"almost over", Failures{Account: 9, AccountOldest: ago(14*time.Minute + 30*time.Second)}, "Try again in a minute."},
		{"twenty from the address", Failures{Addr: 20, AddrOldest: ago(5 * time.Minute)}, "Too many failed sign-ins from your network address. Try again in 10 minutes."},
	} {
		err := p.Check(tc.f, now)
		var te *ThrottledError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: got %v, want allowed", tc.name, err)
		case tc.want != "" && (!errors.As(err, &te) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
	if AccountKey("  Ann@Example.ORG ") != "ann@example.org" {
		t.Errorf("AccountKey does not fold case and space")
	}
}
