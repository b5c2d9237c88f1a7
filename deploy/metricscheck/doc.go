// Package metricscheck checks kapture-bulk's --metrics-file with the
// Prometheus project's own parser (expfmt.TextParser, what Prometheus
// tooling reads the text format with): its tests run the binary against
// the mock and parse the file it leaves, a successful run's and a failed
// one's. It is a module of its own so that the Prometheus libraries stay
// out of kapture-bulk's go.mod.
package metricscheck
