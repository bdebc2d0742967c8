package virtuoussim

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Errors returned by the Org methods (and mapped to 404/409/400 by the
// control API).
var (
	ErrNotFound = errors.New("virtuoussim: not found")
	ErrConflict = errors.New("virtuoussim: conflict")
	ErrInvalid  = errors.New("virtuoussim: invalid")
)

// Org is one Virtuous organization: its own records, holding state, bucket,
// webhook subscriptions, rate budget and fault configuration. All methods are
// safe for concurrent use.
type Org struct {
	sim  *Sim
	id   int64
	name string

	// mu guards everything below it. Queries take it for reading.
	mu  sync.RWMutex
	cfg OrgConfig
	rng *rand.Rand

	nextGift, nextContact, nextIndividual, nextMethod, nextAddress int64
	nextDesignation, nextProject, nextSegment, nextWebhook         int64
	nextSeq                                                        int64

	gifts    []*gift // by id, ascending; deleted gifts stay as tombstones
	giftByID map[int64]*gift
	giftByTx map[txKey]*gift

	contacts       []*contact
	contactByID    map[int64]*contact
	contactByRef   map[refKey]*contact
	contactByEmail map[string]*contact

	pending     []*pendingTx // holding state, in submission order
	pendingGift map[txKey]*pendingTx
	pendingCont map[txKey]*pendingTx
	bucket      []*pendingTx // Match Needed / Update Needed, in arrival order
	bucketByKey map[txKey]*pendingTx

	projects       []*project
	projectByID    map[int64]*project
	projectByCode  map[string]*project
	projectByName  map[string]*project
	segmentsByCode map[string]int64

	webhooks map[int64]*subscription

	// cmu guards the counters and the rate window, which every request
	// touches; keeping them off mu lets queries run in parallel.
	cmu      sync.Mutex
	counters Counters
	rate     rateWindow
	burst    throttleBurst
	frng     *rand.Rand // fault decisions, under cmu
}

// pendingTx is a transaction in the holding state or the bucket.
type pendingTx struct {
	seq       int64
	isContact bool
	key       txKey // gift: source/id; contact: referenceSource/referenceId
	gift      *giftTx
	contact   *contactTx
	submitted time.Time
	batched   time.Time
	bucket    string
	reason    string
}

// giftTx is a validated gift transaction waiting for the batch.
type giftTx struct {
	src, txid       string
	contact         contactTx
	contactID       int64
	giftType        string // canonical, or "" when unknown (Update Needed)
	rawGiftType     string
	date            time.Time
	amount          int64
	currency        string
	batch, notes    string
	segment         string
	receiptDate     time.Time
	isPrivate       bool
	isTaxDeductible bool
	designations    []designationTx
	customFields    []customField
}

type designationTx struct {
	projectID  int64
	name, code string
	amount     int64
}

// contactTx is contact data from a transaction (nested or flat).
type contactTx struct {
	refSource, refID string
	contactType      string
	name             string
	title            string
	firstName        string
	middleName       string
	lastName         string
	email, emailType string
	phone, phoneType string
	address          Address
	customFields     []customField
}

func newOrg(s *Sim, id int64, name string) *Org {
	seed := uint64(s.opts.Seed)
	h := s.hash64("org", name)
	o := &Org{
		sim:             s,
		id:              id,
		name:            name,
		cfg:             OrgConfig{}.withDefaults(),
		rng:             rand.New(rand.NewPCG(seed, h)),
		frng:            rand.New(rand.NewPCG(seed, h^0x9e3779b97f4a7c15)),
		nextGift:        int64(1 + h%500),
		nextContact:     int64(1 + (h>>16)%300),
		nextIndividual:  int64(1 + (h>>24)%300),
		nextMethod:      2000,
		nextAddress:     800,
		nextDesignation: 1,
		nextProject:     1,
		nextSegment:     1,
		nextWebhook:     1,
		giftByID:        map[int64]*gift{},
		giftByTx:        map[txKey]*gift{},
		contactByID:     map[int64]*contact{},
		contactByRef:    map[refKey]*contact{},
		contactByEmail:  map[string]*contact{},
		pendingGift:     map[txKey]*pendingTx{},
		pendingCont:     map[txKey]*pendingTx{},
		bucketByKey:     map[txKey]*pendingTx{},
		projectByID:     map[int64]*project{},
		projectByCode:   map[string]*project{},
		projectByName:   map[string]*project{},
		segmentsByCode:  map[string]int64{},
		webhooks:        map[int64]*subscription{},
	}
	o.counters = newCounters()
	// Two projects every org has, so designations by code work out of the box.
	o.addProject("General Fund", "GEN")
	o.addProject("Direct Support", "DirectSupport")
	return o
}

// Name is the organization's name.
func (o *Org) Name() string { return o.name }

// ID is the organization's id (GET /api/Organization/Current).
func (o *Org) ID() int64 { return o.id }

func (o *Org) now() time.Time { return o.sim.clock.Now().UTC() }

func (o *Org) config() OrgConfig {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.cfg
}

// SetConfig replaces the org's fault and behaviour configuration. Zero
// values of the domains, retry schedule and timeouts take their defaults.
func (o *Org) SetConfig(c OrgConfig) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cfg = c.withDefaults()
}

// Config returns the org's configuration with defaults filled in.
func (o *Org) Config() OrgConfig { return o.config() }

// styleFor picks an object's timestamp style from the seed: most objects
// read like the fixture ("…47.03"), a third carry seven digits and Z, a few
// seven digits without a zone.
func (o *Org) styleFor(kind string, id int64) tsStyle {
	switch h := o.sim.hash64("style", o.name, kind, strconv.FormatInt(id, 10)) % 12; {
	case h < 7:
		return tsShort
	case h < 11:
		return tsLongZ
	default:
		return tsLongNo
	}
}

// stamp returns the timestamp for a change made now to an object whose last
// change was at prev: truncated to the object's precision and strictly after
// prev, so a client keying on id + modifiedDateTimeUtc never sees two
// versions with the same stamp even when the manual clock stands still.
func stamp(now, prev time.Time, st tsStyle) time.Time {
	t := now.Truncate(st.precision())
	if !prev.IsZero() && !t.After(prev) {
		t = prev.Add(st.precision())
	}
	return t
}

func (o *Org) addProject(name, code string) *project {
	p := &project{id: o.nextProject, name: name, code: code}
	o.nextProject++
	o.projects = append(o.projects, p)
	o.projectByID[p.id] = p
	if code != "" {
		o.projectByCode[strings.ToLower(code)] = p
	}
	if name != "" {
		o.projectByName[strings.ToLower(name)] = p
	}
	return p
}

// resolveProject finds the designation's project by id, code or name, and
// creates one for an unknown code or name. ok is false for an unknown id
// with nothing else to go on.
func (o *Org) resolveProject(id int64, name, code string) (*project, bool) {
	if id != 0 {
		if p, ok := o.projectByID[id]; ok {
			return p, true
		}
	}
	if code != "" {
		if p, ok := o.projectByCode[strings.ToLower(code)]; ok {
			return p, true
		}
	}
	if name != "" {
		if p, ok := o.projectByName[strings.ToLower(name)]; ok {
			return p, true
		}
	}
	if code == "" && name == "" {
		return nil, false
	}
	if name == "" {
		name = code
	}
	return o.addProject(name, code), true
}

func (o *Org) segmentID(code string) int64 {
	if code == "" {
		return 0
	}
	k := strings.ToLower(code)
	if id, ok := o.segmentsByCode[k]; ok {
		return id
	}
	id := o.nextSegment
	o.nextSegment++
	o.segmentsByCode[k] = id
	return id
}

// liveContact follows merges to the surviving contact.
func (o *Org) liveContact(id int64) *contact {
	c := o.contactByID[id]
	for i := 0; c != nil && c.mergedInto != 0 && i < 100; i++ {
		c = o.contactByID[c.mergedInto]
	}
	return c
}

func emailDomain(email string) string {
	_, d, ok := strings.Cut(strings.TrimSpace(email), "@")
	if !ok {
		return ""
	}
	return strings.ToLower(d)
}

func normEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }
