package store

import (
	"database/sql/driver"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// lib/pq's pq.Array has no form for slices with NULLs; these write
// PostgreSQL array literals with NULL elements.

type int64PtrArray []*int64

func (a int64PtrArray) Value() (driver.Value, error) {
	parts := make([]string, len(a))
	for i, p := range a {
		if p == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = strconv.FormatInt(*p, 10)
		}
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

type timePtrArray []*time.Time

func (a timePtrArray) Value() (driver.Value, error) {
	parts := make([]string, len(a))
	for i, p := range a {
		if p == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = `"` + p.UTC().Format(time.RFC3339Nano) + `"`
		}
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

type stringPtrArray []*string

func (a stringPtrArray) Value() (driver.Value, error) {
	parts := make([]string, len(a))
	for i, p := range a {
		if p == nil {
			parts[i] = "NULL"
		} else {
			parts[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(*p) + `"`
		}
	}
	return "{" + strings.Join(parts, ",") + "}", nil
}

type stringArray []string

func (a stringArray) Value() (driver.Value, error) {
	p := make([]*string, len(a))
	for i := range a {
		p[i] = &a[i]
	}
	return stringPtrArray(p).Value()
}

// stringArrayOrNull is a as an array, or NULL when a is empty: an unset
// list filter.
func stringArrayOrNull(a []string) driver.Valuer {
	if len(a) == 0 {
		return nullArray{}
	}
	return stringArray(a)
}

type nullArray struct{}

func (nullArray) Value() (driver.Value, error) { return nil, nil }

// literals appends PostgreSQL array literals, element by element, to one
// buffer, for the ingest statement: pq.Array built each of its arrays
// through reflection and a string per element (and a hex string per body),
// which lib/pq then copied again into its message. A []byte parameter is
// sent as it is.
type literals struct {
	b []byte
}

// array writes one array of f applied to each of n elements.
func (l *literals) array(n int, f func(i int)) []byte {
	start := len(l.b)
	l.b = append(l.b, '{')
	for i := range n {
		if i > 0 {
			l.b = append(l.b, ',')
		}
		f(i)
	}
	l.b = append(l.b, '}')
	return l.b[start:len(l.b):len(l.b)]
}

func (l *literals) int(v int64) { l.b = strconv.AppendInt(l.b, v, 10) }

func (l *literals) null() { l.b = append(l.b, "NULL"...) }

func (l *literals) text(s string) {
	l.b = append(l.b, '"')
	for i := range len(s) {
		if s[i] == '"' || s[i] == '\\' {
			l.b = append(l.b, '\\')
		}
		l.b = append(l.b, s[i])
	}
	l.b = append(l.b, '"')
}

// bytea writes b in hex, the form bytea's input takes, its backslash
// escaped for the array literal.
func (l *literals) bytea(b []byte) {
	l.b = append(l.b, `"\\x`...)
	l.b = hex.AppendEncode(l.b, b)
	l.b = append(l.b, '"')
}

func (l *literals) time(t time.Time) {
	l.b = append(l.b, '"')
	l.b = t.UTC().AppendFormat(l.b, time.RFC3339Nano)
	l.b = append(l.b, '"')
}
