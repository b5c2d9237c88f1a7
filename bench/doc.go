// Package bench holds the benchmarks of issue 6 that span packages: the
// reader against a bare encoding/csv read, and the results writer. The
// end-to-end benchmark of the built binary is the command bench/e2e;
// `make bench` runs both (see BENCHMARKS.md).
package bench
