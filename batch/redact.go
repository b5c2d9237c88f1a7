package batch

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// redacted replaces a secret in what the engine writes.
const redacted = "[redacted]"

// minSecret is the shortest string the redactor hides. Hiding shorter
// ones would garble messages (a token "abc" would blank every "abc"), and
// a token that short is no secret worth the name.
const minSecret = 6

// redactor hides the API token in text a server sent back: a server that
// echoes the Authorization header in an error message must not get the
// token written to the results CSV, the logs or the summary. It hides the
// token as given, in the escaped forms a JSON encoder or a URL may give
// it, and the text it decodes to when it is base64 (and that text's part
// after a colon, the password of a "user:password" pair).
type redactor struct {
	secrets [][]byte          // longest first
	r       *strings.Replacer // nil: nothing to hide
}

func newRedactor(token string) *redactor {
	var forms []string
	add := func(s string) {
		if len(s) >= minSecret && !slices.Contains(forms, s) {
			forms = append(forms, s)
		}
	}
	variants := func(s string) {
		add(s)
		add(url.QueryEscape(s))
		add(strings.ReplaceAll(s, "/", `\/`)) // some JSON encoders escape slashes
	}
	variants(token)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(token)
		if err != nil || !utf8.Valid(b) {
			continue
		}
		plain := string(b)
		variants(plain)
		if _, pass, ok := strings.Cut(plain, ":"); ok {
			variants(pass)
		}
	}
	// Longest first: a form that contains another is replaced whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	rd := &redactor{}
	if len(forms) == 0 {
		return rd
	}
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		rd.secrets = append(rd.secrets, []byte(f))
		pairs = append(pairs, f, redacted)
	}
	rd.r = strings.NewReplacer(pairs...)
	return rd
}

// body returns b with every secret replaced. It redacts a reply before it
// is read, so that an excerpt cut from it (an HTML page's title, the first
// characters of an unreadable body) cannot keep part of a secret the cut
// went through.
func (rd *redactor) body(b []byte) []byte {
	for _, s := range rd.secrets {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, []byte(redacted))
		}
	}
	return b
}

// text returns s with every secret replaced.
func (rd *redactor) text(s string) string {
	if rd.r == nil {
		return s
	}
	return rd.r.Replace(s)
}

// outcome hides the secrets in every message of out: the one place the
// engine's messages pass through before they become results, log lines
// or errors.
func (rd *redactor) outcome(out outcome) outcome {
	if rd.r == nil {
		return out
	}
	out.message = rd.text(out.message)
	for i := range out.entries {
		out.entries[i].message = rd.text(out.entries[i].message)
	}
	return out
}
