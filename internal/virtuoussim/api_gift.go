package virtuoussim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"backstop/internal/money"
)

const maxBody = 1 << 20

// readJSON decodes the request body into v, answering 400 itself (legacy
// shape, as ASP.NET's model binding does) when it cannot.
func readJSON(o *Org, w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request body could not be read.")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
			fieldErr{"body", "REQUIRED", "A request body is required."})
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
			fieldErr{"body", "INVALID", "Could not parse the request body: " + err.Error()})
		return false
	}
	return true
}

// postGiftTransaction is POST /api/v2/Gift/Transaction: validate, dedupe,
// hold for the batch, answer 200 with an empty body (no gift id exists yet).
func (s *Sim) postGiftTransaction(o *Org, w http.ResponseWriter, r *http.Request) {
	var body giftTxBody
	if !readJSON(o, w, r, &body) {
		o.count(func(c *Counters) { c.Rejected++ })
		return
	}
	if src, id := strings.TrimSpace(string(body.TransactionSource)), strings.TrimSpace(string(body.TransactionID)); src != "" && id != "" {
		o.count(func(c *Counters) { c.TransactionPosts[txKey{src, id}.String()]++ })
	}
	cfg := o.config()
	now := o.now()
	o.mu.RLock()
	tx, ierr := o.validateGiftTx(&body, cfg, now.Truncate(24*time.Hour))
	o.mu.RUnlock()
	if ierr != nil {
		o.count(func(c *Counters) { c.Rejected++ })
		o.writeError(w, http.StatusBadRequest, ierr.style, ierr.msg, ierr.fields...)
		return
	}
	if o.submitGift(tx) {
		o.count(func(c *Counters) { c.Deduplicated++ })
	}
	writeEmptyOK(w)
}

// giftTxBatchBody is the body of POST /api/v2/Gift/Transactions.
type giftTxBatchBody struct {
	TransactionSource flexString        `json:"transactionSource"`
	Batch             flexString        `json:"batch"`
	DefaultGiftDate   flexString        `json:"defaultGiftDate"`
	DefaultGiftType   flexString        `json:"defaultGiftType"`
	Transactions      []json.RawMessage `json:"transactions"`
}

// postGiftTransactions is POST /api/v2/Gift/Transactions: many gift
// transactions at once, with top-level defaults for the source, batch, gift
// date and type. How Virtuous reports a bad item is unconfirmed; the
// simulator refuses the whole request with 400 naming every bad item, so a
// client can never half-submit a batch without knowing.
func (s *Sim) postGiftTransactions(o *Org, w http.ResponseWriter, r *http.Request) {
	var body giftTxBatchBody
	if !readJSON(o, w, r, &body) {
		o.count(func(c *Counters) { c.Rejected++ })
		return
	}
	if len(body.Transactions) == 0 {
		o.writeError(w, http.StatusBadRequest, styleLegacy, "The request is invalid.",
			fieldErr{"transactions", "REQUIRED", "At least one transaction is required."})
		return
	}
	cfg := o.config()
	today := o.now().Truncate(24 * time.Hour)
	var txs []*giftTx
	var bad []fieldErr
	o.mu.RLock()
	for i, raw := range body.Transactions {
		var item giftTxBody
		field := fmt.Sprintf("transactions[%d]", i)
		if err := json.Unmarshal(raw, &item); err != nil {
			bad = append(bad, fieldErr{field, "INVALID", err.Error()})
			continue
		}
		if item.TransactionSource == "" {
			item.TransactionSource = body.TransactionSource
		}
		if item.Batch == "" {
			item.Batch = body.Batch
		}
		if item.GiftDate == "" {
			item.GiftDate = body.DefaultGiftDate
		}
		if item.GiftType == "" {
			item.GiftType = body.DefaultGiftType
		}
		if src, id := strings.TrimSpace(string(item.TransactionSource)), strings.TrimSpace(string(item.TransactionID)); src != "" && id != "" {
			o.count(func(c *Counters) { c.TransactionPosts[txKey{src, id}.String()]++ })
		}
		tx, ierr := o.validateGiftTx(&item, cfg, today)
		if ierr != nil {
			msg := ierr.msg
			if len(ierr.fields) > 0 {
				msg = ierr.fields[0].message
			}
			bad = append(bad, fieldErr{field, "INVALID", msg})
			continue
		}
		txs = append(txs, tx)
	}
	o.mu.RUnlock()
	if len(bad) > 0 {
		o.count(func(c *Counters) { c.Rejected++ })
		o.writeError(w, http.StatusBadRequest, styleVaried, fmt.Sprintf("%d of %d transactions are invalid; none were accepted.", len(bad), len(body.Transactions)), bad...)
		return
	}
	for _, tx := range txs {
		if o.submitGift(tx) {
			o.count(func(c *Counters) { c.Deduplicated++ })
		}
	}
	writeEmptyOK(w)
}

func pathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

func (s *Sim) getGift(o *Org, w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	o.mu.RLock()
	defer o.mu.RUnlock()
	g := o.giftByID[id]
	if !ok || g == nil || g.deleted {
		o.writeError(w, http.StatusNotFound, styleVaried, fmt.Sprintf("Gift with id %s could not be found", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, o.appendGift(make([]byte, 0, 2048), g, false))
}

// getGiftByTransaction is GET /api/Gift/{transactionSource}/{transactionId}:
// the reconciliation lookup. It is 404 while the transaction is held, in the
// bucket, discarded or unknown — a client cannot tell these apart.
func (s *Sim) getGiftByTransaction(o *Org, w http.ResponseWriter, r *http.Request) {
	src, id := r.PathValue("transactionSource"), r.PathValue("transactionId")
	o.mu.RLock()
	defer o.mu.RUnlock()
	g := o.giftByTx[txKey{src, id}]
	if g == nil || g.deleted {
		o.writeError(w, http.StatusNotFound, styleVaried,
			fmt.Sprintf("Gift with transaction source '%s' and transaction id '%s' could not be found", src, id))
		return
	}
	writeJSON(w, http.StatusOK, o.appendGift(make([]byte, 0, 2048), g, false))
}

// putGift is PUT /api/Gift/{id}: the fields present in the body change, the
// gift's modifiedDateTimeUtc moves, GiftUpdate fires, and the gift comes
// back.
func (s *Sim) putGift(o *Org, w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "id")
	var body struct {
		Amount           *money.Decimal      `json:"amount"`
		GiftDate         *flexString         `json:"giftDate"`
		GiftType         *flexString         `json:"giftType"`
		CurrencyCode     *flexString         `json:"currencyCode"`
		Notes            *flexString         `json:"notes"`
		Batch            *flexString         `json:"batch"`
		Designations     *[]DesignationInput `json:"designations"`
		GiftDesignations *[]struct {
			ProjectID        flexInt       `json:"projectId"`
			Project          string        `json:"project"`
			ProjectCode      string        `json:"projectCode"`
			AmountDesignated money.Decimal `json:"amountDesignated"`
		} `json:"giftDesignations"`
	}
	if !readJSON(o, w, r, &body) {
		return
	}
	str := func(f *flexString) *string {
		if f == nil {
			return nil
		}
		v := string(*f)
		return &v
	}
	e := GiftEdit{Amount: body.Amount, GiftDate: str(body.GiftDate), GiftType: str(body.GiftType),
		CurrencyCode: str(body.CurrencyCode), Notes: str(body.Notes), Batch: str(body.Batch), Designations: body.Designations}
	if body.GiftDesignations != nil && e.Designations == nil {
		ds := []DesignationInput{}
		for _, d := range *body.GiftDesignations {
			ds = append(ds, DesignationInput{ID: int64(d.ProjectID), Name: d.Project, Code: d.ProjectCode, AmountDesignated: d.AmountDesignated})
		}
		e.Designations = &ds
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	g := o.giftByID[id]
	if !ok || g == nil || g.deleted {
		o.writeError(w, http.StatusNotFound, styleVaried, fmt.Sprintf("Gift with id %s could not be found", r.PathValue("id")))
		return
	}
	// Edit a copy so that a refused edit leaves the gift untouched.
	cp := *g
	cp.designations = slices.Clone(g.designations)
	if err := o.applyGiftEdit(&cp, e); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			status = http.StatusNotFound
		}
		o.writeError(w, status, styleVaried, err.Error())
		return
	}
	*g = cp
	o.touchGift(g, o.now(), userAPI)
	o.emitGift(EventGiftUpdate, g)
	writeJSON(w, http.StatusOK, o.appendGift(make([]byte, 0, 2048), g, false))
}

// getGiftsByContact is GET /api/Gift/ByContact/{contactId}.
func (s *Sim) getGiftsByContact(o *Org, w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r, "contactId")
	skip, take, ok := pageParams(o, w, r)
	if !ok {
		return
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	c := o.contactByID[id]
	if c == nil {
		o.writeError(w, http.StatusNotFound, styleVaried, fmt.Sprintf("Contact with id %s could not be found", r.PathValue("contactId")))
		return
	}
	var list []*gift
	for _, gid := range c.gifts {
		if g := o.giftByID[gid]; g != nil && !g.deleted {
			list = append(list, g)
		}
	}
	key, _ := giftSortKey(queryParam(r, "sortBy"))
	sortGifts(list, key, strings.EqualFold(queryParam(r, "descending"), "true"))
	writeJSON(w, http.StatusOK, o.renderGiftPage(pageOf(list, skip, take), len(list), true))
}
