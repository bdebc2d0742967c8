package store

// The report and audit queries, for the EXPLAIN checks of the benchmarks.
const (
	QueueStateQuery     = queueStateQuery
	ConfirmationsQuery  = confirmationsQuery
	AuditRowsQuery      = auditRowsQuery
	AuditExportCursor   = auditExportCursor
	LockRecordsFor      = lockRecordsFor
	LockGiftsOfContacts = lockGiftsOfContacts
)

// AuditExportSettings are the SET LOCAL statements the export runs under.
const AuditExportSettings = auditExportSettings

// AuditArgs are the audit queries' parameters for a filter.
var AuditArgs = auditArgs
