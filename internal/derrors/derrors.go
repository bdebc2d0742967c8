// Package derrors defines the error kinds Backstop's layers agree on, so that a
// handler can map a failure deep in the store to an HTTP status or an exit code
// with errors.Is, and the one Wrap idiom that adds context as an error rises.
package derrors

//lint:file-ignore ST1012 the kinds are named as in pkgsite's derrors (derrors.NotFound, not derrors.ErrNotFound): the package name already says "error", and every layer uses these names.

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// NotFound: the thing asked for does not exist (or, across tenants, must
	// not be admitted to exist).
	NotFound = errors.New("not found")
	// InvalidArgument: the caller's input is wrong; nothing was written.
	InvalidArgument = errors.New("invalid argument")
	// AlreadyExists: a unique key already holds a row.
	AlreadyExists = errors.New("already exists")
	// WrongState: a status transition found the record in another state, or an
	// optimistic-lock version check failed; nothing was changed.
	WrongState = errors.New("wrong state")
	// Unauthenticated: credentials are missing or do not match.
	Unauthenticated = errors.New("unauthenticated")
	// BudgetExhausted: the shared Virtuous rate budget has no room left this
	// window (after the reserve kept for the customer's other integrations).
	BudgetExhausted = errors.New("virtuous rate budget exhausted")
)

// Wrap adds context to *errp when it is non-nil, keeping the chain for
// errors.Is. Use it deferred, once per function:
//
//	defer derrors.Wrap(&err, "Store.TenantBySlug(ctx, %q)", slug)
func Wrap(errp *error, format string, args ...any) {
	if *errp != nil {
		*errp = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), *errp)
	}
}

// Invalid returns an InvalidArgument error naming the offending field.
func Invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// FieldError is an InvalidArgument about one input field.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Is makes every FieldError an InvalidArgument.
func (e *FieldError) Is(target error) bool { return target == InvalidArgument }

// Public is the part of a client error (invalid input, duplicate, wrong
// state) meant for the person who made it: the FieldError if there is one,
// else the innermost message, without the call-site context that Wrap adds
// for logs.
func Public(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Error()
	}
	msg := err.Error()
	for _, k := range []error{InvalidArgument, AlreadyExists, NotFound, WrongState} {
		if errors.Is(err, k) && msg == k.Error() {
			return msg
		}
	}
	// Wrap writes "context: cause"; the cause is the public part.
	if i := strings.LastIndex(msg, "): "); i >= 0 {
		msg = msg[i+3:]
	}
	return msg
}
