// Package auth holds who may use Backstop's web app: users and their roles,
// password hashing, and the tenant scope a user may see. Sessions are the web
// layer's (alexedwards/scs over PostgreSQL); sign-in throttling is here.
package auth

import (
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"backstop/internal/derrors"
)

// Role is what a user may do.
type Role string

const (
	// Staff are a customer's ops team: one tenant each.
	Staff Role = "staff"
	// Engineers are the integration partner's team: every tenant.
	Engineer Role = "engineer"
)

// User is someone who signs in to the web app.
type User struct {
	ID           int64      `db:"id"`
	Email        string     `db:"email"`
	PasswordHash string     `db:"password_hash"`
	Role         Role       `db:"role"`
	TenantID     *int64     `db:"tenant_id"`
	TenantSlug   *string    `db:"tenant_slug"`
	CreatedAt    time.Time  `db:"created_at"`
	LastLoginAt  *time.Time `db:"last_login_at"`
}

// CanSee reports whether u may see tenantID's pages and records.
func (u *User) CanSee(tenantID int64) bool {
	return u.Role == Engineer || (u.TenantID != nil && *u.TenantID == tenantID)
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 10

// bcryptCost is bcrypt's default; sign-in is rare enough to afford it.
const bcryptCost = bcrypt.DefaultCost

// NewUser is what `user add` asks for.
type NewUser struct {
	Email      string
	Role       Role
	TenantSlug string
	Password   string
}

// Validate checks a new user before anything is written.
func (n *NewUser) Validate() error {
	n.Email = strings.TrimSpace(n.Email)
	if at := strings.IndexByte(n.Email, '@'); at < 1 || at == len(n.Email)-1 || strings.ContainsAny(n.Email, " \t\r\n") {
		return derrors.Invalid("email", "%q is not an email address", n.Email)
	}
	switch n.Role {
	case Staff:
		if n.TenantSlug == "" {
			return derrors.Invalid("tenant", "a staff user belongs to exactly one tenant: give --tenant")
		}
	case Engineer:
		if n.TenantSlug != "" {
			return derrors.Invalid("tenant", "an engineer sees every tenant and belongs to none: drop --tenant")
		}
	default:
		return derrors.Invalid("role", "%q is not a role (staff or engineer)", n.Role)
	}
	if strings.TrimSpace(n.Password) == "" {
		return derrors.Invalid("password", "must not be empty")
	}
	if len(n.Password) < MinPasswordLen {
		return derrors.Invalid("password", "must be at least %d characters", MinPasswordLen)
	}
	if len(n.Password) > 72 {
		return derrors.Invalid("password", "must be at most 72 bytes (bcrypt's limit)")
	}
	return nil
}

// HashPassword returns the bcrypt hash of pw.
func HashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
	return string(h), err
}

// CheckPassword reports whether pw matches hash, in constant time.
func CheckPassword(hash, pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// dummyHash is compared against when the account does not exist, so a
// sign-in for an unknown email costs the same time as a wrong password.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("backstop-no-such-user"), bcryptCost)

// CheckNoUser spends the time of one bcrypt comparison and returns false.
func CheckNoUser(pw string) bool {
	bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
	return false
}
