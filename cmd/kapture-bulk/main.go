// Command kapture-bulk applies a CSV of ticket updates to Kapture CRM
// through its Update Ticket API and writes a results CSV that says what
// happened to every row.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Only the commands that stop cleanly take the signals over; validate
	// and version keep the default (a signal ends them at once). SIGHUP
	// (an SSH session dropped) stops a run as SIGTERM does; a closed
	// stdout or stderr must not kill it (see droppingWriter).
	tuneGC(os.Getenv)
	sigs := make(chan os.Signal, 2)
	if signalsFor(os.Args[1:]) {
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		signal.Ignore(syscall.SIGPIPE)
	}
	os.Exit(cli(context.Background(), os.Args[1:], &env{
		stdin: os.Stdin, stdout: &droppingWriter{w: os.Stdout}, stderr: &droppingWriter{w: os.Stderr},
		getenv: os.Getenv, signals: sigs, isTerminal: stderrIsTerminal,
	}))
}
