package store

// The report and audit queries, for the EXPLAIN checks of the benchmarks.
const (
	QueueStateQuery    = queueStateQuery
	ConfirmationsQuery = confirmationsQuery
	AuditRowsQuery     = auditRowsQuery
)
