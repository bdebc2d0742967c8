package virtuous

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"backstop/internal/derrors"
)

// SubmitGift posts one Gift Transaction (POST /api/v2/Gift/Transaction).
// body is a *GiftTransaction or the platform's own JSON (a json.RawMessage or
// []byte is sent byte for byte). A 2xx means Virtuous accepted it into the holding
// state; it returns no gift id, and whatever body it sends is ignored.
//
// Retrying the POST is safe: Virtuous dedupes Transactions on
// transactionSource + transactionId, so a repeat after a lost response does
// not create a second gift. That is also why the id must be stable upstream.
func (c *Client) SubmitGift(ctx context.Context, body any) error {
	return c.submit(ctx, http.MethodPost, "/api/v2/Gift/Transaction", body)
}

// SubmitContact posts one Contact Transaction (POST /api/Contact/Transaction),
// a *ContactTransaction or raw JSON. Like gifts, contact Transactions are
// deduped on referenceSource + referenceId, so retries are safe.
func (c *Client) SubmitContact(ctx context.Context, body any) error {
	return c.submit(ctx, http.MethodPost, "/api/Contact/Transaction", body)
}

// UpdateGift replaces fields of gift id (PUT /api/Gift/{id}).
// UNCONFIRMED: virtuous-api.md names no source for this endpoint or its body
// shape; verify against the Seeded Sandbox before relying on it.
func (c *Client) UpdateGift(ctx context.Context, id int64, body any) error {
	if id <= 0 {
		return fmt.Errorf("virtuous: UpdateGift: gift id %d: %w", id, derrors.InvalidArgument)
	}
	return c.submit(ctx, http.MethodPut, "/api/Gift/"+strconv.FormatInt(id, 10), body)
}

// UpdateContact replaces fields of contact id (PUT /api/Contact/{id}).
// UNCONFIRMED, like UpdateGift.
func (c *Client) UpdateContact(ctx context.Context, id int64, body any) error {
	if id <= 0 {
		return fmt.Errorf("virtuous: UpdateContact: contact id %d: %w", id, derrors.InvalidArgument)
	}
	return c.submit(ctx, http.MethodPut, "/api/Contact/"+strconv.FormatInt(id, 10), body)
}

func (c *Client) submit(ctx context.Context, method, path string, body any) error {
	b, err := encodeBody(body)
	if err != nil {
		return fmt.Errorf("virtuous: %s %s: %w", method, path, err)
	}
	_, err = c.do(ctx, call{method: method, path: path, body: b, timeout: c.timeout})
	return err
}

// encodeBody marshals v without HTML escaping (notes may hold "&" or "<");
// raw JSON passes through unchanged once checked to be JSON at all, so that
// a body Virtuous would reject as malformed is never sent.
func encodeBody(v any) ([]byte, error) {
	var raw []byte
	switch b := v.(type) {
	case nil:
		return nil, fmt.Errorf("no body: %w", derrors.InvalidArgument)
	case json.RawMessage:
		raw = b
	case []byte:
		raw = b
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("body is not JSON: %w", derrors.InvalidArgument)
	}
	return raw, nil
}

// GiftByTransaction finds a gift by the Transaction that created it
// (GET /api/Gift/{transactionSource}/{transactionId}). A 404 (pending in the
// holding state, or never created) is (nil, false, nil).
func (c *Client) GiftByTransaction(ctx context.Context, source, id string) (*Gift, bool, error) {
	path, err := refPath("/api/Gift", source, id)
	if err != nil {
		return nil, false, err
	}
	return get[Gift](ctx, c, path)
}

// ContactByReference finds a contact by an external reference
// (GET /api/Contact/{referenceSource}/{referenceId}); a 404 is (nil, false, nil).
func (c *Client) ContactByReference(ctx context.Context, source, id string) (*Contact, bool, error) {
	path, err := refPath("/api/Contact", source, id)
	if err != nil {
		return nil, false, err
	}
	return get[Contact](ctx, c, path)
}

// Gift reads gift id (GET /api/Gift/{id}); a 404 is (nil, false, nil).
func (c *Client) Gift(ctx context.Context, id int64) (*Gift, bool, error) {
	if id <= 0 {
		return nil, false, fmt.Errorf("virtuous: Gift: id %d: %w", id, derrors.InvalidArgument)
	}
	return get[Gift](ctx, c, "/api/Gift/"+strconv.FormatInt(id, 10))
}

// Contact reads contact id (GET /api/Contact/{id}); a 404 is (nil, false, nil).
func (c *Client) Contact(ctx context.Context, id int64) (*Contact, bool, error) {
	if id <= 0 {
		return nil, false, fmt.Errorf("virtuous: Contact: id %d: %w", id, derrors.InvalidArgument)
	}
	return get[Contact](ctx, c, "/api/Contact/"+strconv.FormatInt(id, 10))
}

// refPath builds prefix/{source}/{id} with each segment escaped: sources
// such as "Face to Face 012025" hold spaces, and an id holding "/" must stay
// one segment ("%2F"; how Virtuous treats that is UNCONFIRMED). "." and ".."
// are refused, as a server or proxy would resolve them as path steps.
func refPath(prefix, source, id string) (string, error) {
	for _, seg := range []string{source, id} {
		if strings.TrimSpace(seg) == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("virtuous: %s lookup: reference %q/%q: %w", prefix, source, id, derrors.InvalidArgument)
		}
	}
	return prefix + "/" + url.PathEscape(source) + "/" + url.PathEscape(id), nil
}

// get reads one object; a 404 is reported as not found, without an error.
func get[T any](ctx context.Context, c *Client, path string) (*T, bool, error) {
	var v T
	_, err := c.do(ctx, call{method: http.MethodGet, path: path, timeout: c.timeout, decode: func(body []byte) error {
		// A 200 without an object would otherwise read as a found record with id 0.
		if b := bytes.TrimSpace(body); len(b) == 0 || string(b) == "null" {
			return errors.New("200 with an empty body")
		}
		v = *new(T) // a retry decodes into a clean value
		return json.Unmarshal(body, &v)
	}})
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &v, true, nil
}
