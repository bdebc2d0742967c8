package virtuoussim

import (
	"fmt"
	"strings"
	"time"

	"backstop/internal/money"
)

// intakeError is a transaction refused at submission: Virtuous answers 400
// and keeps nothing.
type intakeError struct {
	style  errStyle
	msg    string
	fields []fieldErr
}

func (e *intakeError) Error() string { return e.msg }

func required(field, label string) *intakeError {
	return &intakeError{style: styleLegacy, msg: "The request is invalid.", fields: []fieldErr{{
		field: field, code: "REQUIRED", message: fmt.Sprintf("The %s field is required.", label),
	}}}
}

// parseAmount reads a transaction amount: a JSON number or string, "$" and
// thousands separators tolerated, negative only for reversing transactions.
func parseAmount(d money.Decimal, currency string) (int64, error) {
	s := strings.ReplaceAll(strings.TrimSpace(string(d)), ",", "")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	s = strings.TrimPrefix(s, "$")
	n, err := money.ParseMinor(s, currency)
	if err != nil {
		return 0, err
	}
	if neg {
		n = -n
	}
	return n, nil
}

// validateGiftTx turns a decoded gift transaction into what the batch will
// import, or says why Virtuous would refuse it. Unknown gift types are not
// refused: they surface in the Update Needed bucket, as data problems do in
// the Import Tool.
func (o *Org) validateGiftTx(body *giftTxBody, cfg OrgConfig, today time.Time) (*giftTx, *intakeError) {
	tx := &giftTx{
		src:  strings.TrimSpace(string(body.TransactionSource)),
		txid: strings.TrimSpace(string(body.TransactionID)),
	}
	switch {
	case tx.src == "":
		return nil, required("transactionSource", "TransactionSource")
	case tx.txid == "":
		return nil, required("transactionId", "TransactionId")
	case strings.TrimSpace(string(body.Amount)) == "":
		return nil, required("amount", "Amount")
	}
	tx.currency = strings.ToUpper(strings.TrimSpace(string(body.CurrencyCode)))
	if tx.currency == "" {
		tx.currency = "USD"
	}
	if !money.ValidCurrency(tx.currency) {
		return nil, &intakeError{styleVaried, fmt.Sprintf("Currency code '%s' is not valid.", body.CurrencyCode),
			[]fieldErr{{"currencyCode", "INVALID", "Unknown currency code."}}}
	}
	amt, err := parseAmount(body.Amount, tx.currency)
	if err != nil {
		return nil, &intakeError{styleLegacy, "The request is invalid.",
			[]fieldErr{{"amount", "INVALID", fmt.Sprintf("Could not convert '%s' to an amount: %v.", body.Amount, err)}}}
	}
	tx.amount = amt
	tx.rawGiftType = strings.TrimSpace(string(body.GiftType))
	if gt, ok := giftTypes[strings.ToLower(tx.rawGiftType)]; ok {
		tx.giftType = gt[0]
	}
	if amt < 0 && tx.giftType != "ReversingTransaction" {
		return nil, &intakeError{styleVaried, "Amount must be positive unless the gift type is ReversingTransaction.",
			[]fieldErr{{"amount", "OUT_OF_RANGE", "Amount must be greater than zero."}}}
	}
	tx.date = today
	if s := strings.TrimSpace(string(body.GiftDate)); s != "" {
		d, ok := parseDate(s)
		if !ok {
			return nil, &intakeError{styleVaried, fmt.Sprintf("Gift date '%s' is not a valid date.", s),
				[]fieldErr{{"giftDate", "INVALID", "Not a valid date."}}}
		}
		tx.date = d
	}
	if s := strings.TrimSpace(string(body.ReceiptDate)); s != "" {
		if d, ok := parseDate(s); ok {
			tx.receiptDate = d
		}
	}
	tx.batch = string(body.Batch)
	tx.notes = string(body.Notes)
	tx.segment = strings.TrimSpace(string(body.Segment))
	tx.isPrivate = body.IsPrivate.or(false)
	tx.isTaxDeductible = body.IsTaxDeductible.or(true)
	if tx.customFields, err = parseCustomFields(body.CustomFields); err != nil {
		return nil, &intakeError{styleLegacy, "The request is invalid.",
			[]fieldErr{{"customFields", "INVALID", err.Error()}}}
	}

	var sum int64
	for i, d := range body.Designations {
		a, err := parseAmount(d.AmountDesignated, tx.currency)
		if err != nil {
			return nil, &intakeError{styleLegacy, "The request is invalid.", []fieldErr{{
				fmt.Sprintf("designations[%d].amountDesignated", i), "INVALID", err.Error()}}}
		}
		sum += a
		tx.designations = append(tx.designations, designationTx{projectID: d.ID, name: d.Name, code: d.Code, amount: a})
	}
	if len(tx.designations) > 0 && sum != tx.amount {
		return nil, &intakeError{styleVaried,
			fmt.Sprintf("The sum of the designation amounts (%s) must equal the gift amount (%s).",
				formatDecimal(sum, tx.currency), formatDecimal(tx.amount, tx.currency)),
			[]fieldErr{{"designations", "SUM_MISMATCH", "Designation amounts must sum to the gift amount."}}}
	}
	for i, d := range tx.designations {
		if d.projectID != 0 && d.name == "" && d.code == "" {
			if _, ok := o.projectByID[d.projectID]; !ok {
				return nil, &intakeError{styleVaried, fmt.Sprintf("Project with id %d could not be found.", d.projectID),
					[]fieldErr{{fmt.Sprintf("designations[%d].id", i), "NOT_FOUND", "Unknown project."}}}
			}
		}
	}

	c := body.Contact
	if c == nil {
		return nil, required("contact", "Contact")
	}
	tx.contactID = int64(c.ID)
	tx.contact = contactTx{
		refSource: tx.src, refID: strings.TrimSpace(string(c.ReferenceID)),
		contactType: string(c.Type), name: string(c.Name), title: string(c.Title),
		firstName: string(c.FirstName), middleName: string(c.MiddleName), lastName: string(c.LastName),
		email: strings.TrimSpace(string(c.Email)), emailType: string(c.EmailType),
		phone: string(c.Phone), phoneType: string(c.PhoneType),
	}
	if c.Address != nil {
		a := c.Address
		tx.contact.address = Address{string(a.Address1), string(a.Address2), string(a.City), string(a.State), string(a.Postal), string(a.Country)}
	}
	if tx.contactID == 0 && tx.contact.email == "" && tx.contact.refID == "" &&
		tx.contact.firstName == "" && tx.contact.lastName == "" && tx.contact.name == "" {
		return nil, &intakeError{styleLegacy, "The request is invalid.", []fieldErr{{
			"contact", "REQUIRED", "A contact needs an id, a reference id, a name or an email."}}}
	}
	if e := checkEmail(tx.contact.email, cfg); e != nil {
		return nil, e
	}
	return tx, nil
}

// checkEmail applies the invalid-domain rule (and a basic shape check) that
// lets a demo produce records Virtuous refuses.
func checkEmail(email string, cfg OrgConfig) *intakeError {
	if email == "" {
		return nil
	}
	if !strings.Contains(email, "@") || strings.ContainsAny(email, " \t") || emailDomain(email) == "" {
		return &intakeError{styleVaried, fmt.Sprintf("'%s' is not a valid email address.", email),
			[]fieldErr{{"contact.email", "INVALID", fmt.Sprintf("'%s' is not a valid email address.", email)}}}
	}
	if d := strings.ToLower(cfg.InvalidEmailDomain); d != "" && emailDomain(email) == d {
		return &intakeError{styleVaried, fmt.Sprintf("Email address '%s' is invalid: the domain %s does not accept mail.", email, d),
			[]fieldErr{{"contact.email", "INVALID", fmt.Sprintf("Email address '%s' is invalid.", email)}}}
	}
	return nil
}

// validateContactTx checks a flat contact transaction.
func (o *Org) validateContactTx(body *contactTxBody, cfg OrgConfig) (*contactTx, *intakeError) {
	ct := &contactTx{
		refSource: strings.TrimSpace(string(body.ReferenceSource)), refID: strings.TrimSpace(string(body.ReferenceID)),
		contactType: string(body.ContactType), name: string(body.Name), title: string(body.Title),
		firstName: string(body.FirstName), middleName: string(body.MiddleName), lastName: string(body.LastName),
		email: strings.TrimSpace(string(body.Email)), emailType: string(body.EmailType),
		phone: string(body.Phone), phoneType: string(body.PhoneType),
		address: Address{string(body.Address1), string(body.Address2), string(body.City), string(body.State), string(body.Postal), string(body.Country)},
	}
	switch {
	case ct.refSource == "":
		return nil, required("referenceSource", "ReferenceSource")
	case ct.refID == "":
		return nil, required("referenceId", "ReferenceId")
	case ct.name == "" && ct.firstName == "" && ct.lastName == "" && ct.email == "":
		return nil, required("lastName", "LastName")
	}
	switch strings.ToLower(ct.contactType) {
	case "", "household":
		ct.contactType = "Household"
	case "organization":
		ct.contactType = "Organization"
	case "foundation":
		ct.contactType = "Foundation"
	default:
		return nil, &intakeError{styleVaried, fmt.Sprintf("Contact type '%s' is not valid.", ct.contactType),
			[]fieldErr{{"contactType", "INVALID", "Expected Household, Organization or Foundation."}}}
	}
	var err error
	if ct.customFields, err = parseCustomFields(body.CustomFields); err != nil {
		return nil, &intakeError{styleLegacy, "The request is invalid.", []fieldErr{{"customFields", "INVALID", err.Error()}}}
	}
	if e := checkEmail(ct.email, cfg); e != nil {
		return nil, e
	}
	return ct, nil
}
