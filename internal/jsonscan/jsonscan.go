// Package jsonscan reads JSON without reflection, for the few hot decoders
// (a webhook delivery, a money amount) that handle the common shape of a
// document themselves and leave everything else to encoding/json.
//
// It accepts a subset of what encoding/json accepts and never more: String
// refuses a string with an escape or invalid UTF-8 (which encoding/json
// would rewrite), and every other reader refuses what encoding/json's
// scanner refuses. A decoder built on it can therefore fall back to
// encoding/json whenever it says no, and never accepts a document that
// encoding/json would refuse.
package jsonscan

import "unicode/utf8"

// Scanner reads one JSON document from the front.
type Scanner struct {
	buf []byte
	pos int
}

// New returns a scanner at the start of b.
func New(b []byte) *Scanner { return &Scanner{buf: b} }

// maxDepth bounds the nesting Value skips; deeper is refused (encoding/json
// allows 10,000, so this only refuses more).
const maxDepth = 64

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *Scanner) skipSpace() {
	for s.pos < len(s.buf) && isSpace(s.buf[s.pos]) {
		s.pos++
	}
}

// Next skips space and returns the first byte of the next value, or 0 at
// the end.
func (s *Scanner) Next() byte {
	s.skipSpace()
	if s.pos == len(s.buf) {
		return 0
	}
	return s.buf[s.pos]
}

// End reports whether nothing but space is left.
func (s *Scanner) End() bool { return s.Next() == 0 && s.pos == len(s.buf) }

// Null reads null if it is next, and reports whether it was.
func (s *Scanner) Null() bool { return s.literal("null") }

func (s *Scanner) literal(word string) bool {
	if s.Next() != word[0] || len(s.buf)-s.pos < len(word) || string(s.buf[s.pos:s.pos+len(word)]) != word {
		return false
	}
	s.pos += len(word)
	return true
}

// Bool reads true or false.
func (s *Scanner) Bool() (v, ok bool) {
	if s.literal("true") {
		return true, true
	}
	return false, s.literal("false")
}

// String reads a string with no escape, no control character and only
// valid UTF-8, and returns the bytes between its quotes (part of the
// scanned buffer, not a copy). Any other string is refused.
func (s *Scanner) String() ([]byte, bool) {
	if s.Next() != '"' {
		return nil, false
	}
	start := s.pos + 1
	ascii := true
	for i := start; i < len(s.buf); i++ {
		switch c := s.buf[i]; {
		case c == '"':
			if !ascii && !utf8.Valid(s.buf[start:i]) {
				return nil, false
			}
			s.pos = i + 1
			return s.buf[start:i], true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// PlainString is String for a whole value: b is exactly one such string
// (no space around it), whose contents it returns.
func PlainString(b []byte) ([]byte, bool) {
	s := Scanner{buf: b}
	if len(b) == 0 || b[0] != '"' {
		return nil, false
	}
	v, ok := s.String()
	return v, ok && s.pos == len(b)
}

// Number reads a number literal, as the JSON grammar spells one.
func (s *Scanner) Number() ([]byte, bool) {
	s.skipSpace()
	start, b, i := s.pos, s.buf, s.pos
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	s.pos = i
	return b[start:i], true
}

// IsNumber reports whether b is exactly one number literal.
func IsNumber(b []byte) bool {
	s := Scanner{buf: b}
	_, ok := s.Number()
	return ok && s.pos == len(b) && len(b) > 0 && !isSpace(b[0])
}

// Object reads an object, calling field with each key (read as String
// reads it) with the scanner at that key's value, which field must read.
// It stops, refusing the object, when field returns false.
func (s *Scanner) Object(field func(key []byte) bool) bool {
	if s.Next() != '{' {
		return false
	}
	s.pos++
	if s.Next() == '}' {
		s.pos++
		return true
	}
	for {
		key, ok := s.String()
		if !ok || s.Next() != ':' {
			return false
		}
		s.pos++
		if !field(key) {
			return false
		}
		switch s.Next() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// Array reads an array, calling elem with the scanner at each element,
// which elem must read. It stops, refusing the array, when elem returns
// false.
func (s *Scanner) Array(elem func() bool) bool {
	if s.Next() != '[' {
		return false
	}
	s.pos++
	if s.Next() == ']' {
		s.pos++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch s.Next() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// Value reads any one value, checking it as encoding/json's scanner does
// (escapes and any bytes are allowed in its strings), and returns its
// bytes: for a field a decoder skips, or hands to an UnmarshalJSON method.
func (s *Scanner) Value() ([]byte, bool) {
	s.skipSpace()
	start := s.pos
	if !s.value(0) {
		return nil, false
	}
	return s.buf[start:s.pos], true
}

func (s *Scanner) value(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch s.Next() {
	case '{':
		return s.Object(func([]byte) bool { return s.value(depth + 1) })
	case '[':
		return s.Array(func() bool { return s.value(depth + 1) })
	case '"':
		if _, ok := s.String(); ok {
			return true
		}
		return s.anyString()
	case 't', 'f':
		_, ok := s.Bool()
		return ok
	case 'n':
		return s.Null()
	}
	_, ok := s.Number()
	return ok
}

// anyString skips a string with escapes or any bytes but control
// characters, which encoding/json accepts.
func (s *Scanner) anyString() bool {
	b := s.buf
	for i := s.pos + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			i++
			if i == len(b) {
				return false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return false
					}
				}
				i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
