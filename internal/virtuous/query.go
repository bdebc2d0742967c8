package virtuous

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"backstop/internal/derrors"
)

// Query is the body of a Query call (virtuous-api.md §4): conditions within
// a group are ANDed, groups are ORed (the latter seen in public code,
// UNCONFIRMED officially).
type Query struct {
	Groups     []Group `json:"groups"`
	SortBy     string  `json:"sortBy,omitempty"`
	Descending bool    `json:"descending"`
}

// Group is a set of conditions that must all hold.
type Group struct {
	Conditions []Condition `json:"conditions"`
}

// Condition is one filter. Parameter and Operator are display names exactly
// as QueryOptions returns them ("Last Modified Date", "OnOrAfter");
// SecondaryValue is the upper bound of Between.
type Condition struct {
	Parameter      string   `json:"parameter"`
	Operator       string   `json:"operator"`
	Value          string   `json:"value,omitempty"`
	SecondaryValue string   `json:"secondaryValue,omitempty"`
	Values         []string `json:"values,omitempty"`
}

// MaxTake is the largest page Virtuous serves; a larger take is a 400.
const MaxTake = 1000

// ModifiedOnOrAfter selects records last modified on or after day's calendar
// date (in day's location). The value is a date without a time of day:
// whether the parameter keeps time of day is UNCONFIRMED, so callers should
// overlap windows by a day and dedupe on id + modifiedDateTimeUtc.
func ModifiedOnOrAfter(day time.Time) Condition {
	return Condition{Parameter: "Last Modified Date", Operator: "OnOrAfter", Value: Date(day)}
}

// IDIn selects records whose parameter (e.g. "Gift Id") is any of ids: one
// group per id, because groups are ORed. To AND another condition, append
// it to every group's Conditions.
func IDIn(parameter string, ids []int64) []Group {
	groups := make([]Group, 0, len(ids))
	for _, id := range ids {
		groups = append(groups, Group{Conditions: []Condition{
			{Parameter: parameter, Operator: "Is", Value: strconv.FormatInt(id, 10)},
		}})
	}
	return groups
}

// QueryGifts returns one page of full gifts matching q
// (POST /api/Gift/Query/FullGift?skip=&take=). Unlike the abbreviated
// /api/Gift/Query it includes transactionSource/transactionId, which
// reconciliation joins on.
func (c *Client) QueryGifts(ctx context.Context, q Query, skip, take int) (*Page[Gift], error) {
	return query[Gift](ctx, c, "/api/Gift/Query/FullGift", q, skip, take)
}

// QueryContacts returns one page of full contacts matching q
// (POST /api/Contact/Query/FullContact?skip=&take=).
func (c *Client) QueryContacts(ctx context.Context, q Query, skip, take int) (*Page[Contact], error) {
	return query[Contact](ctx, c, "/api/Contact/Query/FullContact", q, skip, take)
}

// EachGiftPage pages through QueryGifts from skip until the reported total
// is reached, calling fn with every page and the skip it was fetched at, so
// that a caller can persist progress and resume there. It stops at the first
// error, fn's included, and returns it. While fn works on a page the next
// one is already being fetched (see eachPage).
func (c *Client) EachGiftPage(ctx context.Context, q Query, skip, take int, fn func(p *Page[Gift], skip int) error) error {
	return eachPage(ctx, skip, take, func(ctx context.Context, skip int) (*Page[Gift], error) { return c.QueryGifts(ctx, q, skip, take) }, fn)
}

// EachContactPage is EachGiftPage for QueryContacts.
func (c *Client) EachContactPage(ctx context.Context, q Query, skip, take int, fn func(p *Page[Contact], skip int) error) error {
	return eachPage(ctx, skip, take, func(ctx context.Context, skip int) (*Page[Contact], error) {
		return c.QueryContacts(ctx, q, skip, take)
	}, fn)
}

// eachPage advances by the number of items actually returned (not by take),
// so a short page never skips records, and stops on an empty page even if
// the total claims more, so a total that shrinks under it cannot loop.
//
// It fetches one page ahead: the next page's skip is known as soon as a page
// arrives, and a pass spends its time in two halves that need not wait for
// each other, Virtuous serving and the client decoding a page, then
// PostgreSQL applying it. One page ahead, never more, so memory stays at two
// pages, calls are made in order, and an fn that fails has cost at most the
// one call in flight, which is cancelled and waited for before returning.
func eachPage[T any](ctx context.Context, skip, take int, fetch func(ctx context.Context, skip int) (*Page[T], error), fn func(*Page[T], int) error) error {
	if err := checkPage(skip, take); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type fetched struct {
		p   *Page[T]
		err error
	}
	start := func(skip int) <-chan fetched {
		ch := make(chan fetched, 1)
		go func() {
			p, err := fetch(ctx, skip)
			ch <- fetched{p, err}
		}()
		return ch
	}
	next := start(skip)
	for {
		f := <-next
		if f.err != nil {
			return f.err
		}
		more := len(f.p.List) > 0 && skip+len(f.p.List) < f.p.Total
		if more {
			next = start(skip + len(f.p.List))
		}
		err := fn(f.p, skip)
		if err == nil && more {
			err = ctx.Err()
		}
		if err != nil || !more {
			if more {
				cancel()
				<-next
			}
			return err
		}
		skip += len(f.p.List)
	}
}

func checkPage(skip, take int) error {
	if skip < 0 || take < 1 || take > MaxTake {
		return fmt.Errorf("virtuous: query page skip=%d take=%d: take must be 1–%d and skip ≥ 0: %w", skip, take, MaxTake, derrors.InvalidArgument)
	}
	return nil
}

func query[T any](ctx context.Context, c *Client, path string, q Query, skip, take int) (*Page[T], error) {
	if err := checkPage(skip, take); err != nil {
		return nil, err
	}
	body, err := encodeBody(q.normalized())
	if err != nil {
		return nil, fmt.Errorf("virtuous: POST %s: %w", path, err)
	}
	params := url.Values{"skip": {strconv.Itoa(skip)}, "take": {strconv.Itoa(take)}}
	var p Page[T]
	_, err = c.do(ctx, call{method: http.MethodPost, path: path, query: params, body: body, timeout: c.queryTimeout, decode: func(b []byte) error {
		p = Page[T]{} // a retry decodes into a clean page
		return json.Unmarshal(b, &p)
	}})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// normalized replaces nil slices with empty ones, so the body says
// "groups":[] and "conditions":[] rather than null, which a .NET binder may
// reject.
func (q Query) normalized() Query {
	out := q
	out.Groups = make([]Group, len(q.Groups))
	for i, g := range q.Groups {
		out.Groups[i] = Group{Conditions: g.Conditions}
		if g.Conditions == nil {
			out.Groups[i].Conditions = []Condition{}
		}
	}
	return out
}

// QueryOptions is what GET /api/{Gift,Contact}/QueryOptions says can be
// queried: the parameter and operator names, exactly as Conditions must
// spell them.
type QueryOptions struct {
	Options []QueryOption `json:"options"`
}

// QueryOption is one queryable parameter.
type QueryOption struct {
	Parameter       string           `json:"parameter"`
	Type            string           `json:"type"`
	OperatorOptions []OperatorOption `json:"operatorOptions"`
	ValueOptions    []string         `json:"valueOptions"`
}

// OperatorOption is one operator a parameter accepts.
type OperatorOption struct {
	Operator              string `json:"operator"`
	MultipleValuesAllowed bool   `json:"multipleValuesAllowed"`
	ValueRequired         bool   `json:"valueRequired"`
}

// GiftQueryOptions reads the gift query parameters (GET /api/Gift/QueryOptions),
// to check parameter and operator names against an organization.
func (c *Client) GiftQueryOptions(ctx context.Context) (*QueryOptions, error) {
	o, _, err := get[QueryOptions](ctx, c, "/api/Gift/QueryOptions")
	return o, notFoundIsError(o, err, "/api/Gift/QueryOptions")
}

// ContactQueryOptions reads the contact query parameters
// (GET /api/Contact/QueryOptions).
func (c *Client) ContactQueryOptions(ctx context.Context) (*QueryOptions, error) {
	o, _, err := get[QueryOptions](ctx, c, "/api/Contact/QueryOptions")
	return o, notFoundIsError(o, err, "/api/Contact/QueryOptions")
}

func notFoundIsError(o *QueryOptions, err error, path string) error {
	if err == nil && o == nil {
		return fmt.Errorf("virtuous: GET %s: %w", path, derrors.NotFound)
	}
	return err
}
