package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes r for a terminal: the verdict, the metrics table, the
// budget, the passes and the escalations.
func WriteText(w io.Writer, r *Report) error {
	fmt.Fprintf(w, "Daily reconciliation report — %s, %s (as of %s): %s\n\n", r.Tenant, r.Date,
		r.AsOf.UTC().Format(time.RFC3339), strings.ToUpper(string(r.Verdict)))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tVALUE\tVERDICT\tHEALTHY\tINVESTIGATE WHEN\tBECAUSE")
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Label, m.Display, m.Verdict, m.Healthy, m.Investigate, m.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b := r.Budget
	fmt.Fprintf(w, "\nVirtuous API: %d calls; %d of the day's %d left (%d/hour, %d%% kept for other integrations)\n",
		r.APICalls, r.BudgetLeft, b.Allowance, b.LimitPerHour, b.ReservePct)
	fmt.Fprintf(w, "\nPasses (%d):\n", len(r.Passes))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Passes) > 0 {
		fmt.Fprintln(tw, "  STARTED\tPASS\tSTATUS\tAPI CALLS\tEXAMINED\tRECOVERED\tNEEDS REVIEW\tDRIFT\tERROR")
	}
	for _, p := range r.Passes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", p.StartedAt.UTC().Format(time.RFC3339), p.Pass, p.Status,
			p.APICalls, p.Examined, p.Recovered, p.NeedsReview, p.DriftFound, p.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nEscalations (%d):\n", len(r.Escalations))
	for _, e := range r.Escalations {
		ack := "open"
		if e.AcknowledgedAt != nil {
			ack = "acknowledged"
			if e.AcknowledgedBy != nil {
				ack += " by " + *e.AcknowledgedBy
			}
		}
		fmt.Fprintf(w, "  %s  %s  [%s, alert %s]\n", e.Kind, e.Message, ack, e.AlertStatus)
	}
	return nil
}
