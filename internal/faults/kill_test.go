//go:build faults

package faults_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"backstop/internal/dbtest"
	"backstop/internal/money"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/virtuoussim"
)

// The worker is killed with SIGKILL at random moments — while it submits,
// and during each pass (stuck, missed, drift) — and started again. After
// the restarts every record reaches its correct final state, every
// Transaction POSTed twice was one a kill interrupted and Virtuous'
// dedupe absorbed, and no outcome is audited twice.
func TestWorkerKilledAtRandomMoments(t *testing.T) {
	t.Parallel()
	seed := faultSeed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	kills := envInt("BACKSTOP_FAULT_KILLS", 5) // per phase: 4 phases, 20 kills in all
	s := newSystem(t, dbtest.URL(t), virtuoussim.OrgConfig{Latency: 40 * time.Millisecond, WebhookLossRate: 1})
	s.cli("", "tenant", "set", "--slug", s.slug, "--stuck-after", "1h", "--needs-review-after", "2h", "--drift-policy", "virtuous")

	// Enough work that no round runs out of it: a round submits up to 70
	// records, and a stuck-pass round looks up at most about 150.
	gifts, contacts := max(400, 80*kills), 40
	unmatched := func(n int) bool { return n%25 == 0 }
	for n := 1; n <= gifts; n++ {
		s.put(record.Gift, fmt.Sprintf("g-%d", n), giftBody(n, unmatched(n)))
	}
	for n := 1; n <= contacts; n++ {
		s.put(record.Contact, fmt.Sprintf("c-%d", n), contactBody(n))
	}
	total, nUnmatched := gifts+contacts, gifts/25
	var summary []string
	note := func(phase string, hits int) {
		summary = append(summary, fmt.Sprintf("%s: %d of %d kills landed mid-work", phase, hits, kills))
		if hits < (kills+1)/2 {
			t.Errorf("%s: only %d of %d kills landed while work was in progress; the test proves little", phase, hits, kills)
		}
	}

	// Submission: the jobs the web server enqueued, POSTed by the worker.
	hits := s.killSubmission(rng, kills, 50)
	note("submission", hits)
	s.finish("every record submitted", func() bool { return s.statuses()[record.Submitted] == total })
	s.checkPosts(gifts)

	// Stuck: the nightly batch imports the gifts, every webhook is lost,
	// and the records are old enough to be looked up and, where Virtuous
	// never matched the donor, handed to the customer.
	if _, err := s.db.DB().Exec(`UPDATE records SET submitted_at = submitted_at - interval '3 hours' WHERE tenant_id = $1`, s.tenant); err != nil {
		t.Fatal(err)
	}
	s.org.RunBatch()
	hits = s.killPass(rng, reconcile.Stuck, kills, 1500*time.Millisecond)
	note("stuck pass", hits)
	s.finishPass(reconcile.Stuck, "every record confirmed or in needs-review", func() bool {
		st := s.statuses()
		return st[record.Confirmed] == total-nUnmatched && st[record.NeedsReview] == nUnmatched
	})
	s.checkConfirmedIDs(gifts, unmatched)

	// Missed: a Virtuous user changes every third gift's amount; the
	// webhooks are lost, so only the Query finds the changes.
	edited := map[string]string{} // transactionId → new amount
	for n := 3; n <= gifts; n += 3 {
		if unmatched(n) {
			continue
		}
		id := fmt.Sprintf("pi_%014d", n)
		g, ok := s.org.GiftByTransaction("Backstop-Stripe", id)
		if !ok {
			t.Fatalf("gift %s not in Virtuous", id)
		}
		amt := money.Decimal(fmt.Sprintf("%d.00", 10+n%90+5))
		if err := s.org.EditGift(g.ID, virtuoussim.GiftEdit{Amount: &amt}); err != nil {
			t.Fatal(err)
		}
		edited[id] = string(amt)
	}
	dirty := func() int {
		return s.count(`SELECT count(*) FROM records WHERE tenant_id = $1 AND drift_dirty`, s.tenant)
	}
	hits = s.killPass(rng, reconcile.Missed, kills, 200*time.Millisecond)
	note("missed pass", hits)
	s.finishPass(reconcile.Missed, "every edit applied", func() bool { return dirty() == len(edited) })

	// Drift: the tenant's policy is Virtuous-canonical, so each edited
	// amount is pulled into the platform's copy.
	hits = s.killPass(rng, reconcile.Drift, kills, 300*time.Millisecond)
	note("drift pass", hits)
	s.finishPass(reconcile.Drift, "every drift resolved", func() bool { return dirty() == 0 })
	s.checkInvariants("final")
	for id, amt := range edited {
		var got string
		s.db.DB().Get(&got, `SELECT payload->>'amount' FROM records WHERE tenant_id = $1 AND ext_id = $2`, s.tenant, id)
		if got != amt {
			t.Errorf("gift %s: platform amount %q after drift, want Virtuous' %q", id, got, amt)
		}
	}
	if n := s.count(`SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'drift.resolved'`, s.tenant); n != len(edited) {
		t.Errorf("got %d drift resolutions audited, want one per edited gift (%d)", n, len(edited))
	}
	var took []string
	s.db.DB().Select(&took, `SELECT slot || ' ' || status || ' ' || coalesce((finished_at - started_at)::text, '') FROM reconciliation_runs ORDER BY id`)
	t.Logf("seed %d; %s; runs %v", seed, strings.Join(summary, "; "), took)
}

// round is one kill: at waits, after the worker started, for the random
// moment to kill it; hit, asked after the kill, tells whether the kill
// landed while work was in progress.
type round struct {
	at  func()
	hit func() bool
}

// killRounds starts the worker, kills it with SIGKILL at the moment the
// round picks, and checks the invariants, kills times; it returns how many
// kills landed mid-work.
func (s *system) killRounds(phase string, kills int, arm func(i int) round) (hits int) {
	s.t.Helper()
	for i := range kills {
		r := arm(i)
		w := s.worker()
		r.at()
		w.Kill()
		if r.hit() {
			hits++
		}
		s.checkInvariants(fmt.Sprintf("%s, after kill %d", phase, i+1))
	}
	return hits
}

// killSubmission kills the worker once a random number (up to most) of
// submissions have committed in the round, with up to twenty more in
// flight; the kill lands mid-work when it leaves a submission running.
func (s *system) killSubmission(rng *rand.Rand, kills, most int) int {
	submitted := func() int { return s.statuses()[record.Submitted] }
	return s.killRounds("submission", kills, func(int) round {
		var start time.Time
		s.db.DB().Get(&start, `SELECT now()`)
		target := submitted() + 1 + rng.IntN(most)
		return round{
			at: func() {
				for deadline := time.Now().Add(30 * time.Second); submitted() < target && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
				}
			},
			hit: func() bool {
				return s.count(`SELECT count(*) FROM river_job WHERE kind = 'submit' AND state = 'running' AND attempted_at > $1`, start) > 0
			},
		}
	})
}

// killPass kills the worker a random time up to maxDelay after the round's
// run of pass started; each round has a pass job of a period of its own,
// as the scheduler enqueues them. The kill lands mid-pass when it leaves
// the run marked running.
func (s *system) killPass(rng *rand.Rand, p reconcile.Pass, kills int, maxDelay time.Duration) int {
	return s.killRounds(string(p)+" pass", kills, func(i int) round {
		slot := fmt.Sprintf("kill:%s:%d", p, i)
		s.enqueuePass(p, slot)
		runs := func(status string) int {
			return s.count(`SELECT count(*) FROM reconciliation_runs WHERE slot = $1 AND status LIKE $2`, slot, status)
		}
		return round{
			at: func() {
				for deadline := time.Now().Add(time.Minute); runs("%") == 0; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						s.t.Fatalf("the %s pass of round %d did not start", p, i+1)
					}
				}
				time.Sleep(time.Duration(rng.Int64N(int64(maxDelay))))
			},
			hit: func() bool { return runs("running") == 1 },
		}
	})
}

// finish starts the worker once more and waits for the phase's goal; the
// jobs the kills interrupted come back through River's rescuer.
func (s *system) finish(what string, done func() bool) {
	s.t.Helper()
	w := s.worker()
	for deadline := time.Now().Add(3 * time.Minute); !done(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			var jobs, runs []string
			s.db.DB().Select(&jobs, `SELECT kind || ' ' || state || ' attempt ' || attempt || ' ' || left(errors::text, 300) FROM river_job
				WHERE kind <> 'apply_events' AND (kind <> 'submit' OR state <> 'completed') ORDER BY id`)
			s.db.DB().Select(&runs, `SELECT pass || ' ' || slot || ' ' || status || ' ' || error FROM reconciliation_runs ORDER BY id`)
			s.t.Fatalf("timed out waiting for %s; statuses %v\njobs:\n%s\nruns:\n%s\nworker:\n%s", what, s.statuses(),
				strings.Join(jobs, "\n"), strings.Join(runs, "\n"), lastLines(w.Output(), 30))
		}
	}
	w.Stop()
	s.checkInvariants("after " + what)
}

// finishPass is finish for a pass: nothing new is enqueued, so the passes
// complete only because River runs the jobs the kills interrupted again,
// and those runs take over their periods.
func (s *system) finishPass(p reconcile.Pass, what string, done func() bool) {
	s.t.Helper()
	s.finish(what, func() bool {
		return done() && s.count(`SELECT count(*) FROM reconciliation_runs WHERE pass = $1 AND status = 'running'`, string(p)) == 0 &&
			s.count(`SELECT count(*) FROM river_job WHERE kind = 'reconcile' AND state NOT IN ('completed', 'discarded', 'cancelled')`) == 0
	})
}

// checkInvariants holds at every moment, whatever was killed when: each
// record's status is the one its audit trail last moved it to, a confirmed
// record has its Virtuous id, no outcome is audited twice, and no more than
// one run of a pass is marked running (the one a kill interrupted).
func (s *system) checkInvariants(when string) {
	s.t.Helper()
	var bad []string
	s.db.DB().Select(&bad, `
		SELECT r.id || ' ' || r.status || ' (audit says ' || coalesce(a.to_status, 'nothing') || ')'
		FROM records r
		LEFT JOIN LATERAL (
			SELECT to_status FROM audit_log
			WHERE record_id = r.id AND to_status <> '' AND to_status IS DISTINCT FROM from_status
			ORDER BY id DESC LIMIT 1) a ON true
		WHERE r.tenant_id = $1 AND (a.to_status IS DISTINCT FROM r.status OR (r.status = 'confirmed' AND r.virtuous_id IS NULL))
		LIMIT 5`, s.tenant)
	if len(bad) > 0 {
		s.t.Fatalf("%s: records whose status disagrees with their audit trail: %v", when, bad)
	}
	s.db.DB().Select(&bad, `
		SELECT record_id || ' ' || action || ' ×' || count(*) FROM audit_log
		WHERE tenant_id = $1 AND record_id IS NOT NULL AND action <> 'submit.retry'
		GROUP BY record_id, action HAVING count(*) > 1 LIMIT 5`, s.tenant)
	if len(bad) > 0 {
		s.t.Fatalf("%s: outcomes audited more than once: %v", when, bad)
	}
	s.db.DB().Select(&bad, `SELECT pass || ' ×' || count(*) FROM reconciliation_runs WHERE status = 'running' GROUP BY pass HAVING count(*) > 1`)
	if len(bad) > 0 {
		s.t.Fatalf("%s: several runs of one pass marked running: %v", when, bad)
	}
}

// checkPosts: every gift was POSTed, and every repeated POST was for a
// record whose submission a kill interrupted and was one Virtuous
// deduplicated (it made no second gift).
func (s *system) checkPosts(gifts int) {
	s.t.Helper()
	c := s.org.Counters()
	if len(c.TransactionPosts) != gifts {
		s.t.Fatalf("Virtuous saw %d gift transactions, want %d", len(c.TransactionPosts), gifts)
	}
	var extra int64
	var reposted []string
	for key, n := range c.TransactionPosts {
		if n > 1 {
			extra += n - 1
			_, id, _ := strings.Cut(key, "/")
			reposted = append(reposted, id)
		}
	}
	if extra != c.Deduplicated {
		s.t.Fatalf("%d repeated gift POSTs but Virtuous deduplicated %d: a repeat was not harmless", extra, c.Deduplicated)
	}
	for _, id := range reposted {
		n := s.count(`
			SELECT count(*) FROM records r JOIN river_job j ON j.kind = 'submit' AND (j.args->>'record_id')::bigint = r.id
			WHERE r.tenant_id = $1 AND r.ext_id = $2 AND j.errors::text LIKE '%rescued%'`, s.tenant, id)
		if n == 0 {
			s.t.Errorf("transaction %s was POSTed again though no kill interrupted its submission", id)
		}
	}
	s.t.Logf("submission: %d gift transactions, %d POSTed more than once (%d repeats, all deduplicated by Virtuous); contact POSTs %d for %d contacts",
		len(c.TransactionPosts), len(reposted), extra, sum(c.ContactTransactionPosts), len(c.ContactTransactionPosts))
}

// checkConfirmedIDs: each confirmed gift carries the id of the one gift
// Virtuous made from its Transaction, and Virtuous holds one contact per
// contact record.
func (s *system) checkConfirmedIDs(gifts int, unmatched func(int) bool) {
	s.t.Helper()
	for n := 1; n <= gifts; n++ {
		if unmatched(n) {
			continue
		}
		id := fmt.Sprintf("pi_%014d", n)
		g, ok := s.org.GiftByTransaction("Backstop-Stripe", id)
		if !ok {
			s.t.Fatalf("Virtuous has no gift for %s", id)
		}
		if got := s.count(`SELECT count(*) FROM records WHERE tenant_id = $1 AND ext_id = $2 AND virtuous_id = $3`, s.tenant, id, g.ID); got != 1 {
			s.t.Errorf("record %s does not carry Virtuous gift id %d", id, g.ID)
		}
	}
	refs := map[string]int{}
	for _, c := range s.org.Contacts() {
		for _, r := range c.References {
			refs[r.Source+"/"+r.ID]++
		}
	}
	for k, n := range refs {
		if n > 1 {
			s.t.Errorf("Virtuous holds %d contacts with reference %s", n, k)
		}
	}
}

func sum(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// faultSeed is BACKSTOP_FAULT_SEED, or a new seed logged so that a failure
// can be replayed.
func faultSeed(t *testing.T) uint64 {
	if v, err := strconv.ParseUint(os.Getenv("BACKSTOP_FAULT_SEED"), 10, 64); err == nil {
		return v
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (BACKSTOP_FAULT_SEED=%d replays it)", seed, seed)
	return seed
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
