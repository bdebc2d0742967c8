package inbound

import (
	"context"

	"backstop/internal/record"
	"backstop/internal/store"
)

// cacheContacts stores the batch's contacts in the contact cache and
// re-evaluates the drift flag of every gift whose donor is one of them: a
// gift's donor fields are compared against its Virtuous contact.
func (b *batch) cacheContacts(ctx context.Context, objs []Object) error {
	cs := make([]store.VirtuousContact, len(objs))
	for i, o := range objs {
		mod := o.ModifiedAt
		cs[i] = store.VirtuousContact{ContactID: o.VirtuousID, MergedInto: o.MergedInto, ModifiedAt: &mod, Data: record.MarshalValues(o.Values)}
	}
	changed, err := b.h.Store.UpsertVirtuousContacts(ctx, b.tx, b.tenantID, cs)
	if err != nil || len(changed) == 0 {
		return err
	}
	gifts, err := b.h.Store.LockGiftsOfContacts(ctx, b.tx, b.tenantID, changed)
	if err != nil {
		return err
	}
	byID := make(map[int64]record.Values, len(objs))
	for _, o := range objs {
		byID[o.VirtuousID] = o.Values
	}
	ids, dirty := make([]int64, 0, len(gifts)), make([]bool, 0, len(gifts))
	for _, g := range gifts {
		pv, err := record.PlatformValues(g.Kind, g.Payload)
		if err != nil {
			continue
		}
		vv := record.UnmarshalValues(g.VirtuousData)
		for f, v := range byID[*g.VirtuousContactID] {
			vv[f] = v
		}
		if d := len(record.Compare(pv, vv)) > 0; d != g.DriftDirty {
			ids, dirty = append(ids, g.ID), append(dirty, d)
		}
	}
	return b.h.Store.SetDriftDirty(ctx, b.tx, b.tenantID, ids, dirty)
}
