package store

import (
	"database/sql/driver"
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
