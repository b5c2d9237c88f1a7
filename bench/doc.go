// Package bench holds the benchmarks that span packages: the
// reader against a bare encoding/csv read, and the results writer. The
// end-to-end benchmark of the built binary is the command bench/e2e;
// `make bench` runs both (see BENCHMARKS.md).
package bench

import (
	"fmt"
	"io"
)

// WriteRows writes a header and rows data rows shaped like a status
// migration: the six documented columns, a quoted comment with a comma in
// a quarter of the rows, a callback time in a third of them; every ticket
// distinct. The Go benchmarks and bench/e2e share it.
func WriteRows(w io.Writer, rows int) {
	subs := []string{"CL", "P", "PS"}
	queues := []string{"Tier 2", "Billing", "Escalations"}
	fmt.Fprintln(w, "ticket_id,sub_status,queue,comment,callback_time,disposition")
	for i := 0; i < rows; i++ {
		cb := ""
		if i%3 == 0 {
			cb = "2025-01-15 10:30:00"
		}
		comment := "Closed after migration review"
		if i%4 == 0 {
			comment = `"Customer confirmed, closing"`
		}
		fmt.Fprintf(w, "%d,%s,%s,%s,%s,Resolved\n", 700000000000+i, subs[i%3], queues[i%3], comment, cb)
	}
}
