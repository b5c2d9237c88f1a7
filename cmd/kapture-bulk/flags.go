package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/kapture-bulk/kapture-bulk/reader"
)

// inputFlags are the flags that shape how INPUT is read; run, validate
// and report share them.
type inputFlags struct {
	encoding, delimiter, extraColumns, ticketIDPattern string
}

// register adds the flags to fs; extraUsage describes --extra-columns
// as the command uses them.
func (f *inputFlags) register(fs *flag.FlagSet, extraUsage string) {
	fs.StringVar(&f.encoding, "encoding", "utf-8", "input encoding: utf-8 (UTF-16 with a BOM is detected) or windows-1252")
	fs.StringVar(&f.delimiter, "delimiter", "", "field delimiter: , ; tab or | (default: detected from the header line)")
	fs.StringVar(&f.extraColumns, "extra-columns", "", extraUsage)
	fs.StringVar(&f.ticketIDPattern, "ticket-id-pattern", "", "regular expression a whole ticket_id must match (default: digits only); an id holding a comma or white space is invalid whatever it allows")
}

// options turns the flags into reader options for the input named name.
// The reader checks the encoding name (reader.ErrOptions: exit 2).
func (f *inputFlags) options(name string) (reader.Options, error) {
	opts := reader.Options{Name: name, Encoding: f.encoding}
	switch strings.ToLower(f.delimiter) {
	case "":
	case ",", "comma":
		opts.Delimiter = ','
	case ";", "semicolon":
		opts.Delimiter = ';'
	case "\t", "tab", `\t`:
		opts.Delimiter = '\t'
	case "|", "pipe":
		opts.Delimiter = '|'
	default:
		return opts, usagef("--delimiter %q: want , ; tab or |", f.delimiter)
	}
	for _, c := range strings.Split(f.extraColumns, ",") {
		c = strings.TrimSpace(c)
		switch {
		case c == "":
		case strings.EqualFold(c, "all"):
			opts.AllExtra = true
		default:
			opts.ExtraColumns = append(opts.ExtraColumns, reader.NormalizeName(c))
		}
	}
	if f.ticketIDPattern != "" {
		re, err := regexp.Compile(f.ticketIDPattern) // the reader anchors it to the whole value
		if err != nil {
			return opts, usagef("--ticket-id-pattern: %w", err)
		}
		opts.TicketIDPattern = re
	}
	return opts, nil
}

// withEnv documents a flag's environment variable in its usage line.
func withEnv(usage, name string) string { return fmt.Sprintf("%s (env %s)", usage, name) }

// printFlags lists every flag of fs with its default, even a zero one
// (flag.PrintDefaults leaves those out), and its environment variable
// where the usage names one.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(fl *flag.Flag) {
		typ, usage := flag.UnquoteUsage(fl)
		head := "  --" + fl.Name
		if typ != "" {
			head += " " + typ
		}
		def := fl.DefValue
		switch {
		case strings.Contains(usage, "(default"), strings.Contains(usage, "(required)"):
			def = "" // the usage says it in words
		case def == "":
			def = "none"
		}
		if def != "" {
			usage += " (default " + def + ")"
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", head, strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
}

// rateValue is --rate: requests per second, or "auto".
type rateValue struct {
	rate *float64
	auto *bool
}

func (v rateValue) String() string {
	switch {
	case v.auto == nil: // the zero value flag.isZeroValue makes
		return ""
	case *v.auto:
		return "auto"
	}
	return strconv.FormatFloat(*v.rate, 'f', -1, 64)
}

func (v rateValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		*v.auto = true
		return nil
	}
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
		return fmt.Errorf("want requests per second (0 = unlimited) or auto")
	}
	*v.rate, *v.auto = r, false
	return nil
}
