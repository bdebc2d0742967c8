package virtuoussim

import (
	"strconv"
	"time"
)

// Gift types a batch accepts, by the codes clients send (n8n hints) and the
// display names QueryOptions lists, mapped to the stored code and the
// giftTypeFormatted text.
var giftTypes = map[string][2]string{
	"cash":                              {"Cash", "Cash"},
	"check":                             {"Check", "Check"},
	"credit":                            {"Credit", "Credit"},
	"eft":                               {"EFT", "Electronic Funds Transfer"},
	"electronic funds transfer":         {"EFT", "Electronic Funds Transfer"},
	"noncash":                           {"NonCash", "Non-Cash"},
	"non-cash":                          {"NonCash", "Non-Cash"},
	"stock":                             {"Stock", "Stock"},
	"other":                             {"Other", "Other"},
	"reversingtransaction":              {"ReversingTransaction", "Reversing Transaction"},
	"reversing transaction":             {"ReversingTransaction", "Reversing Transaction"},
	"cryptocoin":                        {"Cryptocoin", "Cryptocoin"},
	"pledge":                            {"Pledge", "Pledge"},
	"paypal":                            {"PayPal", "PayPal"},
	"qualifiedcharitabledistribution":   {"QualifiedCharitableDistribution", "Qualified Charitable Distribution"},
	"qualified charitable distribution": {"QualifiedCharitableDistribution", "Qualified Charitable Distribution"},
}

var giftTypeFormatted = func() map[string]string {
	m := map[string]string{}
	for _, v := range giftTypes {
		m[v[0]] = v[1]
	}
	return m
}()

// appendGift renders a gift as GET /api/Gift/{id} does, field for field in
// the fixture's order. In webhook payloads customFields is an object map,
// as receivers in the wild read it; in API responses it is an array.
func (o *Org) appendGift(b []byte, g *gift, webhook bool) []byte {
	c := o.contactByID[g.contactID]
	ob := openObj(&b)
	ob.int("id", g.id)
	ob.strNull("transactionSource", g.src)
	ob.strNull("transactionId", g.txid)
	ob.int("contactId", g.contactID)
	if c != nil {
		ob.str("contactName", c.name)
	} else {
		ob.null("contactName")
	}
	ob.str("contactUrl", "/api/Contact/"+strconv.FormatInt(g.contactID, 10))
	ob.str("giftType", g.giftType)
	ob.str("giftTypeFormatted", giftTypeFormatted[g.giftType])
	ob.str("giftDate", dateMidnight(g.date))
	ob.str("giftDateFormatted", dateFormatted(g.date))
	ob.raw("amount", jsonNumber(g.amount, g.currency))
	ob.str("amountFormatted", amountFormatted(g.amount, g.currency))
	ob.str("currencyCode", g.currency)
	ob.raw("exchangeRate", "1.0")
	ob.str("baseCurrencyCode", "USD")
	ob.strNull("batch", g.batch)
	ob.time("createDateTimeUtc", g.created, g.style)
	ob.str("createdByUser", g.createdBy)
	ob.time("modifiedDateTimeUtc", g.modified, g.style)
	ob.str("modifiedByUser", g.modifiedBy)
	if g.segmentID != 0 {
		ob.int("segmentId", g.segmentID)
		ob.str("segment", g.segmentCode)
		ob.str("segmentCode", g.segmentCode)
		ob.str("segmentUrl", "/api/Segment/"+strconv.FormatInt(g.segmentID, 10))
	} else {
		ob.null("segmentId")
		ob.null("segment")
		ob.null("segmentCode")
		ob.null("segmentUrl")
	}
	ob.null("mediaOutletId")
	ob.null("mediaOutlet")
	ob.null("grantId")
	ob.null("grant")
	ob.null("grantUrl")
	ob.str("notes", g.notes)
	ob.null("tribute")
	ob.null("tributeId")
	ob.null("tributeType")
	ob.null("acknowledgeeIndividualId")
	ob.bool("isAcknowledgedGift", false)
	ob.null("acknowledgementDate")
	ob.str("acknowledgementNotes", "")
	if g.receiptDate.IsZero() {
		ob.null("receiptDate")
	} else {
		ob.str("receiptDate", dateMidnight(g.receiptDate))
	}
	ob.str("receiptDateFormatted", dateFormatted(g.receiptDate))
	ob.intNull("contactPassthroughId", g.contactPassthrough)
	if g.contactPassthrough != 0 {
		ob.str("contactPassthroughUrl", "/api/Contact/"+strconv.FormatInt(g.contactPassthrough, 10))
	} else {
		ob.null("contactPassthroughUrl")
	}
	ob.intNull("contactIndividualId", g.individualID)
	ob.null("cashAccountingCode")
	ob.null("giftAskId")
	ob.null("contactMembershipId")
	ob.key("giftDesignations")
	b = append(b, '[')
	for i, d := range g.designations {
		if i > 0 {
			b = append(b, ',')
		}
		p := o.projectByID[d.projectID]
		do := openObj(&b)
		do.int("id", d.id)
		do.int("projectId", d.projectID)
		name, code := "", ""
		if p != nil {
			name, code = p.name, p.code
		}
		do.str("project", name)
		do.strNull("projectCode", code)
		do.null("externalAccountingCode")
		do.str("projectType", "Unspecified")
		do.str("projectLocation", "Unspecified")
		do.str("projectUrl", "/api/Project/"+strconv.FormatInt(d.projectID, 10))
		do.raw("amountDesignated", jsonNumber(d.amount, g.currency))
		do.str("display", name+": "+amountFormatted(d.amount, g.currency))
		do.close()
	}
	b = append(b, ']')
	ob.raw("giftPremiums", "[]")
	ob.raw("pledgePayments", "[]")
	ob.raw("recurringGiftPayments", "[]")
	ob.str("giftUrl", "/api/Gift/"+strconv.FormatInt(g.id, 10))
	ob.bool("isPrivate", g.isPrivate)
	ob.bool("isTaxDeductible", g.isTaxDeductible)
	appendCustomFields(&ob, g.customFields, webhook)
	ob.close()
	return b
}

// appendCustomFields writes customFields: [{name,value,displayName}] for the
// API, {"name":"value"} for webhooks.
func appendCustomFields(ob *jobj, cf []customField, webhook bool) {
	ob.key("customFields")
	b := *ob.b
	if webhook {
		m := openObj(&b)
		for _, f := range cf {
			m.str(f.name, f.value)
		}
		m.close()
	} else {
		b = append(b, '[')
		for i, f := range cf {
			if i > 0 {
				b = append(b, ',')
			}
			fo := openObj(&b)
			fo.str("name", f.name)
			fo.str("value", f.value)
			fo.str("displayName", f.name)
			fo.close()
		}
		b = append(b, ']')
	}
	*ob.b = b
}

// appendGiftAbbrev renders the abbreviated gift of POST /api/Gift/Query.
func (o *Org) appendGiftAbbrev(b []byte, g *gift) []byte {
	ob := openObj(&b)
	ob.int("id", g.id)
	ob.int("contactId", g.contactID)
	ob.intNull("contactIndividualId", g.individualID)
	ob.str("giftType", g.giftType)
	ob.str("giftDate", dateFormatted(g.date))
	ob.raw("amount", jsonNumber(g.amount, g.currency))
	ob.strNull("segment", g.segmentCode)
	ob.strNull("batch", g.batch)
	ob.str("giftUrl", "/api/Gift/"+strconv.FormatInt(g.id, 10))
	ob.str("culture", "en-US")
	ob.raw("exchangeRate", "1.0")
	ob.close()
	return b
}

// appendContact renders a contact as GET /api/Contact/{id} does (the Ruby
// gem's contact.json fixture, field for field).
func (o *Org) appendContact(b []byte, c *contact, webhook bool) []byte {
	ob := openObj(&b)
	ob.int("id", c.id)
	ob.str("contactType", c.contactType)
	ob.bool("isPrivate", c.isPrivate)
	ob.str("name", c.name)
	ob.str("informalName", informalName(c))
	ob.str("formalContactName", c.name)
	ob.str("alternateContactName", c.name)
	ob.str("preferredSalutationName", informalName(c))
	ob.str("preferredAddresseeName", c.name)
	ob.null("description")
	ob.null("website")
	ob.null("maritalStatus")
	ob.null("anniversaryMonth")
	ob.null("anniversaryDay")
	ob.null("anniversaryYear")
	ob.intNull("mergedIntoContactId", c.mergedInto)
	if c.address.empty() {
		ob.null("address")
	} else {
		ob.key("address")
		a := openObj(&b)
		a.int("id", c.addressID)
		a.str("label", "Home Address")
		a.str("address1", c.address.Address1)
		a.strNull("address2", c.address.Address2)
		a.strNull("city", c.address.City)
		a.str("state", c.address.State)
		a.strNull("postal", c.address.Postal)
		a.str("country", c.address.Country)
		a.bool("isPrimary", true)
		a.bool("canBePrimary", false)
		a.int("startMonth", 1)
		a.int("startDay", 1)
		a.int("endMonth", 12)
		a.int("endDay", 31)
		a.time("createDateTimeUtc", c.created, c.style)
		a.str("createdByUser", c.createdBy)
		a.time("modifiedDateTimeUtc", c.modified, c.style)
		a.str("modifiedByUser", c.modifiedBy)
		a.close()
	}
	ltd, ytd, last, lastDate := o.givingSummary(c)
	ob.null("giftAskAmount")
	ob.null("giftAskType")
	ob.str("lifeToDateGiving", wholeFormatted(ltd, "USD"))
	ob.str("yearToDateGiving", wholeFormatted(ytd, "USD"))
	ob.str("lastGiftAmount", wholeFormatted(last, "USD"))
	if lastDate.IsZero() {
		ob.str("lastGiftDate", "Unavailable")
	} else {
		ob.str("lastGiftDate", dateFormatted(lastDate))
	}
	ob.key("contactIndividuals")
	b = append(b, '[')
	if c.individualID != 0 {
		in := openObj(&b)
		in.int("id", c.individualID)
		in.int("contactId", c.id)
		in.strNull("prefix", c.prefix)
		in.null("prefix2")
		in.str("firstName", c.firstName)
		in.strNull("middleName", c.middleName)
		in.str("lastName", c.lastName)
		in.null("preMarriageName")
		in.null("suffix")
		in.null("nickname")
		in.null("gender")
		in.bool("isPrimary", true)
		in.bool("canBePrimary", false)
		in.bool("isSecondary", false)
		in.bool("canBeSecondary", false)
		in.null("birthMonth")
		in.null("birthDay")
		in.null("birthYear")
		in.str("birthDate", "")
		in.null("approximateAge")
		in.bool("isDeceased", false)
		in.str("deceasedDate", "")
		in.null("passion")
		in.null("avatarUrl")
		in.key("contactMethods")
		b = append(b, '[')
		n := 0
		method := func(id int64, typ, val string) {
			if n > 0 {
				b = append(b, ',')
			}
			n++
			m := openObj(&b)
			m.int("id", id)
			m.str("type", typ)
			m.str("value", val)
			m.bool("isOptedIn", false)
			m.bool("isPrimary", true)
			m.bool("canBePrimary", false)
			m.time("createDateTimeUtc", c.created, c.style)
			m.str("createdByUser", c.createdBy)
			m.time("modifiedDateTimeUtc", c.modified, c.style)
			m.str("modifiedByUser", c.modifiedBy)
			m.close()
		}
		if c.email != "" {
			method(c.emailMethodID, c.emailType, c.email)
		}
		if c.phone != "" {
			method(c.phoneMethodID, c.phoneType, c.phone)
		}
		b = append(b, ']')
		in.time("createDateTimeUtc", c.created, c.style)
		in.str("createdByUser", c.createdBy)
		in.time("modifiedDateTimeUtc", c.modified, c.style)
		in.str("modifiedByUser", c.modifiedBy)
		in.raw("customFields", "[]")
		in.raw("customCollections", "[]")
		in.close()
	}
	b = append(b, ']')
	id := strconv.FormatInt(c.id, 10)
	ob.str("contactGiftsUrl", "/api/Gift/ByContact/"+id)
	ob.str("contactPassthroughGiftsUrl", "/api/Gift/Passthrough/ByContact/"+id)
	ob.str("contactPlannedGiftsUrl", "/api/PlannedGift/ByContact/"+id)
	ob.str("contactRecurringGiftsUrl", "/api/RecurringGift/ByContact/"+id)
	ob.str("contactImportantNotesUrl", "/api/ContactNote/Important/ByContact/"+id)
	ob.str("contactNotesUrl", "/api/ContactNote/ByContact/"+id)
	ob.str("contactTagsUrl", "/api/ContactTag/ByContact/"+id)
	ob.str("contactRelationshipsUrl", "/api/Relationship/ByContact/"+id)
	ob.null("primaryAvatarUrl")
	ob.key("contactReferences")
	b = append(b, '[')
	for i, r := range c.references {
		if i > 0 {
			b = append(b, ',')
		}
		ro := openObj(&b)
		ro.str("source", r.source)
		ro.str("id", r.id)
		ro.close()
	}
	b = append(b, ']')
	ob.intNull("originSegmentId", c.originSegmentID)
	ob.null("originSegment")
	ob.time("createDateTimeUtc", c.created, c.style)
	ob.str("createdByUser", c.createdBy)
	ob.time("modifiedDateTimeUtc", c.modified, c.style)
	ob.str("modifiedByUser", c.modifiedBy)
	ob.raw("tags", "[]")
	ob.raw("organizationGroups", "[]")
	appendCustomFields(&ob, c.customFields, webhook)
	ob.raw("customCollections", "[]")
	ob.close()
	return b
}

// appendContactAbbrev renders the abbreviated contact of POST
// /api/Contact/Query.
func (o *Org) appendContactAbbrev(b []byte, c *contact) []byte {
	ob := openObj(&b)
	ob.int("id", c.id)
	ob.str("name", c.name)
	ob.str("contactType", c.contactType)
	ob.strNull("email", c.email)
	ob.strNull("phone", c.phone)
	ob.strNull("address1", c.address.Address1)
	ob.strNull("city", c.address.City)
	ob.strNull("state", c.address.State)
	ob.strNull("postal", c.address.Postal)
	ob.intNull("mergedIntoContactId", c.mergedInto)
	ob.str("contactUrl", "/api/Contact/"+strconv.FormatInt(c.id, 10))
	ob.close()
	return b
}

func informalName(c *contact) string {
	if c.firstName != "" {
		return c.firstName
	}
	return c.name
}

// givingSummary totals the contact's gifts (in base-currency units, taking
// every currency at the exchange rate 1.0 the simulator reports).
func (o *Org) givingSummary(c *contact) (ltd, ytd, last int64, lastDate time.Time) {
	year := o.now().Year()
	for _, id := range c.gifts {
		g := o.giftByID[id]
		if g == nil || g.deleted {
			continue
		}
		ltd += g.amount
		if g.date.Year() == year {
			ytd += g.amount
		}
		if !g.date.Before(lastDate) {
			lastDate, last = g.date, g.amount
		}
	}
	return
}
