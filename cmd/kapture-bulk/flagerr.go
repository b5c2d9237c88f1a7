package main

import (
	"flag"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// The flag package reports a bad command line as text only; these are
// its messages (stable since Go 1.0), to explain them better.
var (
	reUndefined = regexp.MustCompile(`^flag provided but not defined: -+(.*)$`)
	reBadValue  = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-+([^:]*): (.*)$`)
	reNeedsArg  = regexp.MustCompile(`^flag needs an argument: -+(.*)$`)
)

// helpHint is the one line that ends a usage error of a command (cmd is
// "kapture-bulk run", the FlagSet's name): where the whole usage is.
func helpHint(cmd string) string { return fmt.Sprintf("(%s --help for more)", cmd) }

// explainFlagError rewrites an error of fs.Parse for a person: flags
// spelt with two dashes, a near miss answered with the flag meant, --token
// pointed at the safe ways to give a token, a duration without a unit
// answered with one, and a hint to the command's help last. The usage
// itself is not printed: 60 lines of it would bury the error.
func explainFlagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	hint := helpHint(fs.Name())
	if m := reUndefined.FindStringSubmatch(msg); m != nil {
		name := m[1]
		switch {
		case name == "token" || name == "api-token":
			return fmt.Errorf("--%s is not a flag: a token on the command line shows in ps and the shell history; set KAPTURE_API_TOKEN or give --token-file %s", name, hint)
		case suggest(name, flagNames(fs)) != "":
			return fmt.Errorf("unknown flag --%s: did you mean --%s? %s", name, suggest(name, flagNames(fs)), hint)
		}
		return fmt.Errorf("unknown flag --%s %s", name, hint)
	}
	if m := reBadValue.FindStringSubmatch(msg); m != nil {
		value, name := m[1], m[2]
		if fl := fs.Lookup(name); fl != nil && isDuration(fl) && isNumber(value) {
			return fmt.Errorf("--%s %s: a duration needs a unit: use %ss (or ms, m, h) %s", name, value, value, hint)
		}
		return fmt.Errorf("--%s %q: %s %s", name, value, m[3], hint)
	}
	if m := reNeedsArg.FindStringSubmatch(msg); m != nil {
		return fmt.Errorf("--%s needs a value %s", m[1], hint)
	}
	return fmt.Errorf("%w %s", err, hint)
}

func isDuration(fl *flag.Flag) bool {
	g, ok := fl.Value.(flag.Getter)
	if !ok {
		return false
	}
	_, ok = g.Get().(time.Duration)
	return ok
}

var reNumber = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func isNumber(s string) bool { return reNumber.MatchString(strings.TrimSpace(s)) }

func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(fl *flag.Flag) { names = append(names, fl.Name) })
	return names
}

// suggest returns the name among names that typed most likely meant: the
// closest within an edit distance of 2 (a typo, a swapped pair of
// letters, _ for -), else the only name typed is the start of; "" when
// there is none.
func suggest(typed string, names []string) string {
	typed = strings.ToLower(typed)
	best, bestDist := "", 3
	for _, n := range names {
		if d := editDistance(typed, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" {
		return best
	}
	var prefixed []string
	for _, n := range names {
		if len(typed) >= 3 && strings.HasPrefix(n, typed) {
			prefixed = append(prefixed, n)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and swaps of neighbours, each 1.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// d[i][j]: the distance between ra[:i] and rb[:j]; three rows suffice.
	prev2, prev, cur := make([]int, len(rb)+1), make([]int, len(rb)+1), make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// errWrongArgs is a command given the wrong number of arguments.
func errWrongArgs(cmd, want string, got int) error {
	return usagef("%s takes exactly %s, got %d %s", strings.TrimPrefix(cmd, "kapture-bulk "), want, got, helpHint(cmd))
}
