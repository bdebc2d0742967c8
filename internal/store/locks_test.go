package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"testing"

	"backstop/internal/dbtest"
	"backstop/internal/derrors"
	"backstop/internal/store"
)

// A tenant's pass lock is held against every other connection (another
// process here: a second pool) until released, and only for that tenant
// and pass.
func TestTryPassLock(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	ctx := dbtest.Ctx(t)
	var s [2]*store.Store
	for i := range s {
		var err error
		if s[i], err = store.Open(ctx, url); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s[i].Close() })
	}
	try := func(st *store.Store, tenantID int64, pass string) (func(), bool) {
		t.Helper()
		release, ok, err := st.TryPassLock(ctx, tenantID, pass)
		if err != nil {
			t.Fatal(err)
		}
		return release, ok
	}
	release, ok := try(s[0], 1, "missed")
	if !ok {
		t.Fatal("the first lock was refused")
	}
	if _, ok := try(s[1], 1, "missed"); ok {
		t.Error("another process took the same tenant's missed lock while it was held")
	}
	for _, other := range []struct {
		tenant int64
		pass   string
	}{{1, "stuck"}, {1, "drift"}, {2, "missed"}} {
		r, ok := try(s[1], other.tenant, other.pass)
		if !ok {
			t.Errorf("tenant %d %s was locked by tenant 1's missed lock", other.tenant, other.pass)
			continue
		}
		r()
	}
	release()
	r, ok := try(s[1], 1, "missed")
	if !ok {
		t.Fatal("the lock was still held after release")
	}
	r()
	if _, _, err := s[0].TryPassLock(ctx, 1, "bogus"); !errors.Is(err, derrors.InvalidArgument) {
		t.Errorf("unknown pass: got %v, want InvalidArgument", err)
	}
}

// The private cluster's database is created on the first start and found
// on the next.
func TestCreateDatabaseIfMissing(t *testing.T) {
	t.Parallel()
	admin := dbtest.ServerURL(t)
	name := fmt.Sprintf("created_%d", os.Getpid())
	ctx := context.Background()
	for range 2 {
		if err := store.CreateDatabaseIfMissing(ctx, admin, name); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		if db, err := sql.Open("postgres", admin); err == nil {
			db.Exec(`DROP DATABASE IF EXISTS ` + name)
			db.Close()
		}
	})
	var n int
	if err := dbtest.Store(t).DB().Get(&n, `SELECT count(*) FROM pg_database WHERE datname = $1`, name); err != nil || n != 1 {
		t.Errorf("got %d databases named %s (%v), want 1", n, name, err)
	}
}
