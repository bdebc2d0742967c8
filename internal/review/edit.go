package review

import (
	"context"
	"encoding/json"
	"strings"

	"backstop/internal/derrors"
	"backstop/internal/record"
	"backstop/internal/tenant"
)

// EditForm is what "Edit and retry" lets a person fix on a failed record:
// the donor's email, name and address, and a gift's designations. Money,
// dates and references are the platform's and are not edited here.
type EditForm struct {
	Email, FirstName, LastName string
	Address                    record.Address
	// Designations are a gift's, in its body's order: the project code (or
	// name) is editable, the amounts are not. A gift without designations
	// gets one field for a single designation of the whole amount.
	Designations []DesignationEdit
	// Amount is the gift's amount as sent, for the single designation.
	Amount string
}

// DesignationEdit is one designation on the form.
type DesignationEdit struct {
	Code   string
	Amount string
}

// FormOf reads the editable fields of a record's body as they were sent.
func FormOf(rec *record.Record) (EditForm, error) {
	if rec.Kind == record.Contact {
		c, err := record.DecodeContact(rec.Payload)
		if err != nil {
			return EditForm{}, err
		}
		return EditForm{Email: c.Email, FirstName: c.FirstName, LastName: c.LastName,
			Address: record.Address{Address1: c.Address1, Address2: c.Address2, City: c.City, State: c.State, Postal: c.Postal, Country: c.Country}}, nil
	}
	g, err := record.DecodeGift(rec.Payload)
	if err != nil {
		return EditForm{}, err
	}
	f := EditForm{Amount: string(g.Amount)}
	if c := g.Contact; c != nil {
		f.Email, f.FirstName, f.LastName = c.Email, c.FirstName, c.LastName
		if c.Address != nil {
			f.Address = *c.Address
		}
	}
	for _, d := range g.Designations {
		f.Designations = append(f.Designations, DesignationEdit{Code: designationKey(d), Amount: string(d.AmountDesignated)})
	}
	return f, nil
}

func designationKey(d record.Designation) string {
	if d.Code != "" {
		return d.Code
	}
	return d.Name
}

// EditAndRetry applies a person's corrections to a failed record and
// resubmits it. The corrected body is validated as the partner API
// validates one; a bad field is a FieldError naming it (e.g.
// "transaction.contact.email") and nothing is written. version is the
// record version the person edited.
func (s *Service) EditAndRetry(ctx context.Context, t *tenant.Tenant, id, version int64, f EditForm, actor string) error {
	rec, err := s.Store.Record(ctx, s.Store.DB(), t.ID, id)
	if err != nil {
		return err
	}
	old, err := FormOf(rec)
	if err != nil {
		return err
	}
	vals, changed, err := edits(rec.Kind, old, f)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		return derrors.Invalid("", "nothing was changed: edit a field, or use Retry to send the record again as it is")
	}
	body, err := record.ApplyValues(rec.Kind, rec.Payload, vals)
	if err != nil {
		return err
	}
	var meta struct {
		Livemode *bool  `json:"livemode"`
		EventID  string `json:"event_id"`
	}
	json.Unmarshal(rec.SourceMeta, &meta)
	in, err := json.Marshal(record.Intake{Source: rec.Source, SourceRef: rec.SourceRef, Livemode: meta.Livemode, EventID: meta.EventID, Txn: body})
	if err != nil {
		return err
	}
	return s.Intake.Correct(ctx, t, id, version, in, actor, changed)
}

// edits are the fields f changes from old, as values of the drift mapping.
func edits(kind record.Kind, old, f EditForm) (record.Values, []string, error) {
	vals := record.Values{}
	var changed []string
	set := func(field record.Field, before, after string) {
		if after = strings.TrimSpace(after); after != strings.TrimSpace(before) {
			vals[field] = after
			changed = append(changed, string(field))
		}
	}
	set(record.FieldEmail, old.Email, f.Email)
	set(record.FieldFirstName, old.FirstName, f.FirstName)
	set(record.FieldLastName, old.LastName, f.LastName)
	if a, b := record.CanonAddress(old.Address), record.CanonAddress(f.Address); a != b {
		vals[record.FieldAddress] = b
		changed = append(changed, string(record.FieldAddress))
	}
	if kind != record.Gift {
		return vals, changed, nil
	}
	parts, moved, err := designationEdits(old, f)
	if err != nil {
		return nil, nil, err
	}
	if moved {
		vals[record.FieldDesignations] = record.CanonDesignations(parts)
		changed = append(changed, string(record.FieldDesignations))
	}
	return vals, changed, nil
}

// designationEdits keeps each designation's amount and takes its new code;
// a gift that had none may get one for its whole amount.
func designationEdits(old, f EditForm) ([]record.DesignationPart, bool, error) {
	if len(old.Designations) == 0 {
		if len(f.Designations) == 0 || strings.TrimSpace(f.Designations[0].Code) == "" {
			return nil, false, nil
		}
		return []record.DesignationPart{{Key: strings.TrimSpace(f.Designations[0].Code), Amount: old.Amount}}, true, nil
	}
	if len(f.Designations) != len(old.Designations) {
		return nil, false, derrors.Invalid("designations", "the form's designations do not match the record's; reload the page")
	}
	var parts []record.DesignationPart
	moved := false
	for i, d := range old.Designations {
		code := strings.TrimSpace(f.Designations[i].Code)
		if code == "" {
			return nil, false, derrors.Invalid("designations", "designation %d needs a project code", i+1)
		}
		moved = moved || code != d.Code
		parts = append(parts, record.DesignationPart{Key: code, Amount: d.Amount})
	}
	return parts, moved, nil
}
