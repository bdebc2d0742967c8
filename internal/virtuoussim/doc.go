// Package virtuoussim simulates the Virtuous CRM+ REST API closely enough
// that Backstop's client, demo, end-to-end tests and benchmarks can run
// against it on a machine that cannot reach Virtuous. It follows
// shared/virtuous-api.md: gift and contact transactions land in a holding
// state and only become records in a nightly batch; unmatched donors wait in
// the Match Needed bucket (404 on lookup) until an administrator acts;
// webhooks are delivered asynchronously with loss, duplicates, outages and
// retries; queries, rate limits, error bodies and JSON shapes are the
// documented ones, including the inconsistencies (timestamps with and
// without a zone, two error body shapes, customFields as an array in the API
// and an object in webhooks). It does not import the Backstop client: it
// speaks the wire format, so the client's tolerance is really exercised.
//
// Besides the Virtuous API, the handler serves a control API under /_sim/
// (see control.go) that plays the Virtuous user and the operator: run the
// batch, move the clock, resolve bucket items, edit records, inject faults,
// read counters. The control API needs no key and is not rate limited, so
// Start listens on loopback only.
//
// Where the documentation leaves a behaviour UNCONFIRMED the simulator picks
// the reading that is hardest on a client, and says so:
//
//   - POST /api/v2/Gift/Transaction answers 200 with an empty body.
//   - The batch creates a contact for an unknown donor (the common case);
//     donors in OrgConfig.UnmatchedEmailDomain, a hashed share
//     (UnmatchedRate) and transactions naming a missing contact id go to
//     Match Needed; a missing or unknown giftType goes to Update Needed.
//     Both stay 404 until Resolve or Discard.
//   - "Last Modified Date" compares UTC dates, ignoring any time of day in
//     the value; "Last Modified DateTime UTC" compares instants.
//   - Unknown query parameters, operators (including "Is After"), sortBy
//     values and take > 1000 are 400s naming the culprit.
//   - Each object's timestamps have one of three styles chosen from the
//     seed: "…47.03" (no zone, 2–3 digits, stored to the millisecond),
//     "…52.6126031Z", or seven digits without a zone (seen in the contact
//     fixture). A change always moves modifiedDateTimeUtc forward, even
//     when a manual clock stands still.
//   - 404 and validation bodies alternate between the legacy
//     {"error","error_description"} / {"message","errors"} shapes and the
//     target {"error":{"code","message","details"}} shape; 401 is plain text.
//   - Half of the injected 5xx (and hangs) on writes happen after the write
//     took effect, so a client that does not retry safely creates drift.
//   - Webhook signatures are Base64(HMAC-SHA256(secret, body)) in
//     X-Virtuous-Signature unless the subscription names another header;
//     the optional envelope (eventId, eventDateTimeUtc, organization) is on
//     half of the deliveries by default.
//   - Merging contacts re-points their gifts and moves their
//     modifiedDateTimeUtc but raises only ContactUpdate webhooks.
//   - POST /api/v2/Gift/Transactions is all-or-nothing.
package virtuoussim
