package virtuous

import (
	"bytes"
	"encoding/json"
	"strings"

	"backstop/internal/jsonscan"
)

// CustomFields are a record's custom field values by name. Virtuous writes
// them as an array of {name, value} in GET responses (Ruby gem fixtures) and
// as an object map in webhook payloads (observed receiver code); both decode
// here. Values that are not strings keep their JSON text ("12.5", "true").
// They encode as an object map, the shape Transactions take.
type CustomFields map[string]string

// UnmarshalJSON accepts an object map, an array of {name|displayName|
// fieldName|key, value} items, or null. Any other shape, and array items
// without a name, are skipped rather than failing the whole record: a custom
// field is never worth losing a gift over.
func (c *CustomFields) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*c = nil
	case b[0] == '{':
		if out, ok := customFieldsObject(b); ok {
			*c = out
			return nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		out := make(CustomFields, len(m))
		for k, v := range m {
			out[k] = jsonText(v)
		}
		*c = out
	case b[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		out := make(CustomFields, len(items))
		for _, it := range items {
			if name, value, ok := customFieldItem(it); ok {
				out[name] = value
			}
		}
		*c = out
	default:
		*c = nil
	}
	return nil
}

// customFieldsObject reads an object map whose keys have no escapes
// without encoding/json, as the map[string]json.RawMessage above would
// read it (a repeated key: the last value); !ok for any other.
func customFieldsObject(b []byte) (CustomFields, bool) {
	s := jsonscan.New(b)
	out := CustomFields{}
	ok := s.Object(func(key []byte) bool {
		v, ok := s.Value()
		if ok {
			out[string(key)] = jsonText(v)
		}
		return ok
	})
	return out, ok && s.End()
}

// customFieldItem reads one array item; items that are not objects with a
// name are reported as !ok.
func customFieldItem(raw json.RawMessage) (name, value string, ok bool) {
	var it map[string]json.RawMessage
	if json.Unmarshal(raw, &it) != nil {
		return "", "", false
	}
	lower := make(map[string]json.RawMessage, len(it))
	for k, v := range it {
		lower[strings.ToLower(k)] = v
	}
	for _, k := range []string{"name", "displayname", "fieldname", "key"} {
		if name = jsonText(lower[k]); name != "" {
			break
		}
	}
	if name == "" {
		return "", "", false
	}
	return name, jsonText(lower["value"]), true
}

// jsonText is a JSON value as text: a string unquoted, null or absent as "",
// anything else as its compact JSON.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ""
	}
	if raw[0] == '"' {
		if s, ok := jsonscan.PlainString(raw); ok {
			return string(s)
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

// Tags are a contact's tags. GET responses carry an array whose item shape
// is not documented, and Transactions send "tag1;tag2"; this accepts arrays
// of strings, arrays of objects with a name (or tag/value/displayName), and a
// ";"-separated string.
type Tags []string

// UnmarshalJSON decodes any of the shapes above; unknown shapes are empty.
func (t *Tags) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*t = nil
	switch {
	case len(b) == 0:
	case b[0] == '"':
		for _, s := range strings.Split(jsonText(b), ";") {
			if s = strings.TrimSpace(s); s != "" {
				*t = append(*t, s)
			}
		}
	case b[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		for _, it := range items {
			if s := tagName(it); s != "" {
				*t = append(*t, s)
			}
		}
	}
	return nil
}

func tagName(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return jsonText(raw)
	}
	name, _, ok := customFieldItem(raw)
	if ok {
		return name
	}
	var it struct {
		Tag   json.RawMessage `json:"tag"`
		Value json.RawMessage `json:"value"`
	}
	json.Unmarshal(raw, &it)
	if s := jsonText(it.Tag); s != "" {
		return s
	}
	return jsonText(it.Value)
}

// looseString decodes a string, a number or a boolean to its text, for ids
// whose JSON type the sources do not agree on.
type looseString string

func (s *looseString) UnmarshalJSON(b []byte) error {
	*s = looseString(jsonText(b))
	return nil
}
