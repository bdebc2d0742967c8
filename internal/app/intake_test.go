package app_test

import (
	"strings"
	"testing"

	"backstop/internal/apptest"
	"backstop/internal/record"
)

// The partner API over real HTTP refuses a record whose external ids are
// missing or blank: the source_ref (which the transaction ids default to),
// a gift's transactionId and transactionSource, a contact's referenceId and
// referenceSource. Each answer is a 400 naming the field, and nothing is
// written: no record, no audit row, no submission job.
func TestIntakeMissingTransactionIDs(t *testing.T) {
	t.Parallel()
	e := apptest.New(t, apptest.Options{})
	gift := apptest.Gift(1, "10.00") // "source_ref":"pi_00000000000001"
	const contact = `{"source":"other","source_ref":"crm-1","transaction":{"firstName":"Member","lastName":"One","email":"m1@example.org"}}`
	txnField := func(body, field, value string) string {
		return strings.Replace(body, `"transaction":{`, `"transaction":{"`+field+`":"`+value+`",`, 1)
	}
	for _, tc := range []struct {
		name  string
		kind  record.Kind
		body  string
		field string
	}{
		{"gift without source_ref", record.Gift, strings.Replace(gift, `"source_ref":"pi_00000000000001",`, ``, 1), "source_ref"},
		{"gift with empty source_ref", record.Gift, strings.Replace(gift, `"pi_00000000000001"`, `""`, 1), "source_ref"},
		{"gift with blank source_ref", record.Gift, strings.Replace(gift, `"pi_00000000000001"`, `"   "`, 1), "source_ref"},
		{"gift with blank transactionId", record.Gift, txnField(gift, "transactionId", "  "), "transaction.transactionId"},
		{"gift with blank transactionSource", record.Gift, txnField(gift, "transactionSource", " "), "transaction.transactionSource"},
		{"contact without source_ref", record.Contact, strings.Replace(contact, `"source_ref":"crm-1",`, ``, 1), "source_ref"},
		{"contact with empty source_ref", record.Contact, strings.Replace(contact, `"crm-1"`, `""`, 1), "source_ref"},
		{"contact with blank referenceId", record.Contact, txnField(contact, "referenceId", "  "), "transaction.referenceId"},
		{"contact with blank referenceSource", record.Contact, txnField(contact, "referenceSource", `\t`), "transaction.referenceSource"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out := e.Put(tc.kind, "p-1", tc.body)
			errBody, _ := out["error"].(map[string]any)
			if code != 400 || errBody["field"] != tc.field || errBody["message"] == "" {
				t.Errorf("got %d %v, want 400 naming %s", code, out, tc.field)
			}
		})
	}
	for _, table := range []string{"records", "audit_log", "river_job"} {
		var n int
		if err := e.App.Store.DB().Get(&n, `SELECT count(*) FROM `+table); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("got %d rows in %s after refused requests, want 0", n, table)
		}
	}

	// Left out (or empty), the transaction ids take the source_ref: that is
	// the documented default, not a missing id.
	for _, tc := range []struct {
		kind record.Kind
		id   string
		body string
		ref  string
	}{
		{record.Gift, "g-default", txnField(gift, "transactionId", ""), "pi_00000000000001"},
		{record.Contact, "c-default", contact, "crm-1"},
	} {
		if code, out := e.Put(tc.kind, tc.id, tc.body); code != 201 {
			t.Fatalf("%s %s: got %d %v, want 201", tc.kind, tc.id, code, out)
		}
		var ext string
		e.App.Store.DB().Get(&ext, `SELECT ext_id FROM records WHERE platform_id = $1`, tc.id)
		if ext != tc.ref {
			t.Errorf("%s %s: stored transaction id %q, want the source_ref %q", tc.kind, tc.id, ext, tc.ref)
		}
	}
}
