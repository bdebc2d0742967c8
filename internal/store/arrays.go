package store

import (
	"database/sql/driver"
	"encoding/binary"
	"math"
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

// binaryArrays appends one-dimensional PostgreSQL arrays in the binary
// format array_recv reads, for the ingest statement (on the ingest pool,
// where lib/pq sends a []byte argument as binary). In text, each of its
// arrays was a literal PostgreSQL scanned character by character, a body
// twice its size in hex; in binary a body is its bytes, and a number or a
// time eight of them.
type binaryArrays struct {
	b     []byte
	flags int // where the array being written keeps its has-NULLs flag
}

// Element types (pg_type OIDs) of the arrays written.
const (
	oidBytea       = 17
	oidInt8        = 20
	oidText        = 25
	oidTimestamptz = 1184
)

// array writes an array of n elements of type elem, f writing each.
func (a *binaryArrays) array(elem uint32, n int, f func(i int)) []byte {
	start := len(a.b)
	ndim := uint32(1)
	if n == 0 {
		ndim = 0
	}
	a.b = binary.BigEndian.AppendUint32(a.b, ndim)
	flags := len(a.b)
	a.b = binary.BigEndian.AppendUint32(a.b, 0) // has NULLs: set by null
	a.b = binary.BigEndian.AppendUint32(a.b, elem)
	if n > 0 {
		a.b = binary.BigEndian.AppendUint32(a.b, uint32(n))
		a.b = binary.BigEndian.AppendUint32(a.b, 1) // lower bound
	}
	a.flags = flags
	for i := range n {
		f(i)
	}
	return a.b[start:len(a.b):len(a.b)]
}

func (a *binaryArrays) null() {
	binary.BigEndian.PutUint32(a.b[a.flags:], 1)
	a.b = binary.BigEndian.AppendUint32(a.b, math.MaxUint32) // length -1
}

func (a *binaryArrays) int8(v int64) {
	a.b = binary.BigEndian.AppendUint32(a.b, 8)
	a.b = binary.BigEndian.AppendUint64(a.b, uint64(v))
}

// bytes writes a text or bytea element: its bytes as they are.
func (a *binaryArrays) bytes(b []byte) {
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(len(b)))
	a.b = append(a.b, b...)
}

func (a *binaryArrays) text(s string) {
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(len(s)))
	a.b = append(a.b, s...)
}

// timestamptz writes microseconds since 2000-01-01 UTC, rounding the
// fraction of a second as PostgreSQL rounds one it parses from text
// (rint of the fraction, a double, times 10⁶), so that a time stored
// this way equals the same time sent as text.
func (a *binaryArrays) timestamptz(t time.Time) {
	frac := math.RoundToEven(float64(t.Nanosecond()) / 1e9 * 1e6)
	a.int8((t.Unix()-postgresEpoch)*1_000_000 + int64(frac))
}

// postgresEpoch is 2000-01-01 00:00:00 UTC in Unix seconds.
const postgresEpoch = 946684800
