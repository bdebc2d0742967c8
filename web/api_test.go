package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

const giftBody = `{"source":"stripe","source_ref":"pi_3MtwBwLkdIwHu7ix28a3tqPa","livemode":false,
 "transaction":{"contact":{"firstName":"Ada","lastname":"Lovelace","email":"ada@example.org"},
  "giftDate":"2026-11-01","giftType":"Credit","amount":"50.00","currencyCode":"usd",
  "designations":[{"code":"FOOD","amountDesignated":"30"},{"code":"SHELTER","amountDesignated":20.00}]}}`

func TestPutRecordCreatesPendingAndEnqueues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, body := e.do("PUT", "/api/v1/records/gift/order-1", e.token, giftBody)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("got %d %s, want 201", resp.StatusCode, body)
	}
	var got map[string]any
	json.Unmarshal([]byte(body), &got)
	if got["status"] != "pending" || got["transaction_source"] != "Backstop-Stripe" || got["transaction_id"] != "pi_3MtwBwLkdIwHu7ix28a3tqPa" {
		t.Errorf("got %v, want pending with default transaction source and id", got)
	}
	txn := got["transaction"].(map[string]any)
	if txn["amount"] != "50.00" || txn["currencyCode"] != "USD" {
		t.Errorf("got amount %v currency %v, want the canonical \"50.00\" USD", txn["amount"], txn["currencyCode"])
	}
	contact := txn["contact"].(map[string]any)
	if contact["firstname"] != "Ada" || contact["lastname"] != "Lovelace" {
		t.Errorf("got contact %v, want the spec's firstname/lastname spelling", contact)
	}
	if n := e.count(`river_job WHERE kind = 'submit'`); n != 1 {
		t.Errorf("got %d submit jobs, want 1 enqueued with the record", n)
	}

	// Same body again: a no-op.
	resp, body = e.do("PUT", "/api/v1/records/gift/order-1", e.token, giftBody)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"outcome":"unchanged"`) {
		t.Errorf("repeat: got %d %s, want 200 unchanged", resp.StatusCode, body)
	}
	if n := e.count("audit_log"); n != 1 {
		t.Errorf("repeat: got %d audit rows, want 1 (the creation only)", n)
	}
	// A changed body on a pending record updates it; still one job.
	changed := strings.Replace(giftBody, `"Ada"`, `"Augusta Ada"`, 1)
	resp, body = e.do("PUT", "/api/v1/records/gift/order-1", e.token, changed)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"outcome":"updated"`) || !strings.Contains(body, `"version":2`) {
		t.Errorf("change: got %d %s, want 200 updated at version 2", resp.StatusCode, body)
	}
	if n := e.count(`river_job WHERE kind = 'submit'`); n != 1 {
		t.Errorf("change: got %d submit jobs, want still 1", n)
	}

	resp, body = e.do("GET", "/api/v1/records/gift/order-1", e.token, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"firstname":"Augusta Ada"`) {
		t.Errorf("get: got %d %s, want the updated record", resp.StatusCode, body)
	}
}

func TestPutRecordBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := `{"source":"other","source_ref":"x1","transaction":{"notes":"` + strings.Repeat("a", 1<<20) + `"}}`
	for _, tc := range []struct {
		name, path, token, body string
		status                  int
		field                   string
	}{
		{"no token", "/api/v1/records/gift/g1", "", giftBody, 401, ""},
		{"wrong token", "/api/v1/records/gift/g1", "bsi_nope", giftBody, 401, ""},
		{"unknown kind", "/api/v1/records/pledge/g1", e.token, giftBody, 400, "kind"},
		{"unknown source", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"stripe"`, `"paypal"`, 1), 400, "source"},
		{"stripe ref wrong prefix", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, "pi_3Mtw", "xx_3Mtw", 1), 400, "source_ref"},
		{"eventbrite ref not numeric", "/api/v1/records/gift/g1", e.token,
			strings.Replace(strings.Replace(giftBody, `"stripe"`, `"eventbrite"`, 1), `"livemode":false,`, ``, 1), 400, "source_ref"},
		{"ref with slash", "/api/v1/records/gift/g1", e.token, `{"source":"other","source_ref":"a/b","transaction":{}}`, 400, "source_ref"},
		{"missing transaction", "/api/v1/records/gift/g1", e.token, `{"source":"other","source_ref":"x1"}`, 400, "transaction"},
		{"unknown top-level field", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"livemode"`, `"livemodee"`, 1), 400, "livemodee"},
		{"unknown transaction field", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"giftType"`, `"giftKind"`, 1), 400, "transaction.giftKind"},
		{"amount negative", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"50.00"`, `"-50.00"`, 1), 400, "transaction.amount"},
		{"amount zero", "/api/v1/records/gift/g1", e.token, strings.Replace(strings.Replace(giftBody, `"50.00"`, `"0"`, 1), `,"designations":[{"code":"FOOD","amountDesignated":"30"},{"code":"SHELTER","amountDesignated":20.00}]`, ``, 1), 400, "transaction.amount"},
		{"amount too precise", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"50.00"`, `"50.001"`, 1), 400, "transaction.amount"},
		{"amount not a number", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"50.00"`, `"fifty"`, 1), 400, "transaction.amount"},
		{"yen with decimals", "/api/v1/records/gift/g1", e.token, strings.Replace(strings.Replace(giftBody, `"usd"`, `"JPY"`, 1), `"50.00"`, `"50.5"`, 1), 400, "transaction.amount"},
		{"designations do not sum", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"30"`, `"31"`, 1), 400, "transaction.designations"},
		{"missing currency", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"currencyCode":"usd",`, ``, 1), 400, "transaction.currencyCode"},
		{"bad date", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"2026-11-01"`, `"yesterday"`, 1), 400, "transaction.giftDate"},
		{"bad email", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `ada@example.org`, `ada at example`, 1), 400, "transaction.contact.email"},
		{"transaction id with slash", "/api/v1/records/gift/g1", e.token, strings.Replace(giftBody, `"giftDate"`, `"transactionId":"a/b","giftDate"`, 1), 400, "transaction.transactionId"},
		{"malformed json", "/api/v1/records/gift/g1", e.token, `{"source":`, 400, ""},
		{"wrong type", "/api/v1/records/gift/g1", e.token, `{"source":"other","source_ref":42,"transaction":{}}`, 400, "source_ref"},
		{"trailing data", "/api/v1/records/gift/g1", e.token, giftBody + `{}`, 400, ""},
		{"too large", "/api/v1/records/gift/g1", e.token, big, 413, ""},
		{"contact without name or email", "/api/v1/records/contact/c1", e.token, `{"source":"other","source_ref":"c1","transaction":{"phone":"555"}}`, 400, "transaction"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do("PUT", tc.path, tc.token, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, body, tc.status)
			}
			var got struct {
				Error struct {
					Message, Field string
				}
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || got.Error.Message == "" {
				t.Fatalf("got body %q, want a JSON error with a message", body)
			}
			if got.Error.Field != tc.field {
				t.Errorf("got field %q (%s), want %q", got.Error.Field, got.Error.Message, tc.field)
			}
		})
	}
	for _, table := range []string{"records", "audit_log", "river_job"} {
		if n := e.count(table); n != 0 {
			t.Errorf("got %d rows in %s after rejected requests, want 0", n, table)
		}
	}
}

func TestGetRecordOtherTenantIs404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, otherToken, _ := e.addTenant("other", "")
	if resp, body := e.do("PUT", "/api/v1/records/gift/order-1", e.token, giftBody); resp.StatusCode != 201 {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	resp, _ := e.do("GET", "/api/v1/records/gift/order-1", otherToken, "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("got %d, want 404 for another tenant's record", resp.StatusCode)
	}
}

func TestChangesFeedCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := 1; i <= 5; i++ {
		_, err := e.store.DB().Exec(`INSERT INTO changes (tenant_id, kind, virtuous_id, change, data, updated_at)
			VALUES ($1, 'gift', $2, 'created', '{}', now())`, e.tenant.ID, i)
		if err != nil {
			t.Fatal(err)
		}
	}
	// The feed holds back rows while any older transaction in the cluster is
	// still open (parallel tests create databases), so poll as a reader would.
	var seen []float64
	cursor := ""
	for deadline := time.Now().Add(10 * time.Second); len(seen) < 5 && time.Now().Before(deadline); {
		resp, body := e.do("GET", "/api/v1/changes?limit=2&after="+cursor, e.token, "")
		if resp.StatusCode != 200 {
			t.Fatalf("got %d %s", resp.StatusCode, body)
		}
		var page struct {
			Changes []map[string]any
			Next    string
		}
		json.Unmarshal([]byte(body), &page)
		for _, c := range page.Changes {
			seen = append(seen, c["virtuous_id"].(float64))
		}
		if page.Next == cursor {
			time.Sleep(50 * time.Millisecond)
		}
		cursor = page.Next
	}
	if len(seen) != 5 || seen[0] != 1 || seen[4] != 5 {
		t.Errorf("got %v, want each of the 5 changes once", seen)
	}
	if resp, _ := e.do("GET", "/api/v1/changes?after=garbage", e.token, ""); resp.StatusCode != 400 {
		t.Errorf("bad cursor: got %d, want 400", resp.StatusCode)
	}
}
