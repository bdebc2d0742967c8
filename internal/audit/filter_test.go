package audit

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	f, err := ParseFilter(url.Values{"since": {"2026-11-01"}, "until": {"2026-11-02"}, "action": {"a,b", "c"},
		"category": {"stuck"}, "actor": {" user:x@example.org "}, "record": {"42"}})
	if err != nil {
		t.Fatal(err)
	}
	want := Filter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC),
		Actions: []string{"a", "b", "c"}, Categories: []string{"stuck"}, Actor: "user:x@example.org", RecordID: 42}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("got %+v, want %+v", f, want)
	}
	// Values round-trips, for the next page's link and the CSV's.
	if back, err := ParseFilter(f.Values()); err != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("round trip: got %+v (%v)", back, err)
	}
	if f, err := ParseFilter(url.Values{"since": {"2026-11-01T10:00:00+02:00"}}); err != nil || !f.Since.Equal(time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339 since: got %v, %v", f.Since, err)
	}
	for q, field := range map[string]string{"since=soon": "since", "until=2026-02-30": "until", "record=0": "record", "record=x": "record",
		"since=2026-11-02&until=2026-11-01": "until", "action=,": "action"} {
		v, _ := url.ParseQuery(q)
		if _, err := ParseFilter(v); err == nil || !strings.HasPrefix(err.Error(), field+": ") {
			t.Errorf("%s: got %v, want an error on %s", q, err, field)
		}
	}
}

// A cursor survives a page link; anything else is refused, naming the field.
func TestCursorString(t *testing.T) {
	t.Parallel()
	c := Cursor{At: time.Date(2026, 11, 2, 10, 4, 5, 123456000, time.UTC), ID: 42}
	if got, err := ParseCursor("before", c.String()); err != nil || !got.At.Equal(c.At) || got.ID != 42 {
		t.Errorf("round trip of %s: got %+v, %v", c, got, err)
	}
	for _, bad := range []string{"", "42", "x_1", "1_x", "1_0", "-5_3", "1_2_3"} {
		if _, err := ParseCursor("after", bad); err == nil || !strings.HasPrefix(err.Error(), "after: ") {
			t.Errorf("%q: got %v, want an error on after", bad, err)
		}
	}
}
