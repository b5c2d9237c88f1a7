package batch

import (
	"encoding/base64"
	"encoding/hex"
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

// Redactor hides API tokens in text: a server that echoes the
// Authorization header in an error message must not get the token
// written to the results CSV, the logs or the summary, and a command
// that quotes a file must not print the token it holds. It hides what a
// token is, however it is spelled: the token (base64's standard and
// URL-safe alphabets alike, its '=' padding or none), and when it is
// base64 the "user:secret" it decodes to and the secret alone; each of
// these also in hex. Letters match in either case. Each byte may come as
// itself or escaped (%3D or %3d, &#61; &#x3D; or &equals;, \u003d and
// JSON's other escapes, + for a space, a full-width form), escaped again
// up to maxNesting times over (%253D), and spaces, control, invisible
// and bidirectional characters or terminal escape sequences between two
// bytes do not hide it. A Redactor is safe for concurrent use.
type Redactor struct {
	secrets []secret  // longest first
	first   [256]bool // the bytes a secret's spelling may start with
}

// secret is one text to hide.
type secret struct {
	text []byte
	// token: '-' and '_' stand for '+' and '/', and padding after it is
	// hidden with it.
	token bool
}

// NewRedactor returns a Redactor of the tokens (as given to Config.Token
// or read from a token file: a leading "Basic " is not part of one).
// Tokens shorter than minSecret are not hidden.
func NewRedactor(tokens ...string) *Redactor {
	rd := &Redactor{}
	for _, t := range tokens {
		rd.addToken(tokenText(t))
	}
	// Longest first: the secret alone is the end of "user:secret".
	slices.SortStableFunc(rd.secrets, func(a, b secret) int { return len(b.text) - len(a.text) })
	for _, s := range rd.secrets {
		for c := range 256 {
			if s.same(s.text[0], byte(c)) {
				rd.first[c] = true
			}
		}
	}
	if len(rd.secrets) > 0 {
		rd.first['%'], rd.first['&'], rd.first['\\'], rd.first[fullWidthLead] = true, true, true, true
	}
	return rd
}

// addToken adds the secrets token stands for.
func (rd *Redactor) addToken(token string) {
	// In the standard alphabet: same lets '-' and '_' stand for its bytes.
	std := strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(token, "="))
	texts := []string{std}
	if b, err := base64.RawStdEncoding.DecodeString(std); err == nil && utf8.Valid(b) {
		plain := string(b)
		texts = append(texts, plain)
		if _, pass, ok := strings.Cut(plain, ":"); ok {
			texts = append(texts, pass)
		}
	}
	for i, t := range texts {
		if len(t) >= minSecret { // the hex of a shorter one is no secret either
			rd.add(t, i == 0)
			rd.add(hex.EncodeToString([]byte(t)), false)
		}
	}
}

func (rd *Redactor) add(s string, token bool) {
	if len(s) < minSecret {
		return
	}
	for _, have := range rd.secrets {
		if string(have.text) == s {
			return
		}
	}
	rd.secrets = append(rd.secrets, secret{text: []byte(s), token: token})
}

// Text returns s with every secret replaced by "[redacted]". A secret
// inside a JSON string is replaced with its escapes whole, so the JSON
// stays valid.
func (rd *Redactor) Text(s string) string {
	spans := redactSpans(rd, s)
	if spans == nil {
		return s
	}
	var out strings.Builder
	last := 0
	for _, sp := range spans {
		out.WriteString(s[last:sp[0]])
		out.WriteString(redacted)
		last = sp[1]
	}
	out.WriteString(s[last:])
	return out.String()
}

// body returns b with every secret replaced, as Text. It redacts a reply
// before it is read, so that an excerpt cut from it (an HTML page's
// title, the first characters of an unreadable body) cannot keep part of
// a secret the cut went through.
func (rd *Redactor) body(b []byte) []byte {
	spans := redactSpans(rd, b)
	if spans == nil {
		return b
	}
	out := make([]byte, 0, len(b))
	last := 0
	for _, sp := range spans {
		out = append(append(out, b[last:sp[0]]...), redacted...)
		last = sp[1]
	}
	return append(out, b[last:]...)
}

// outcome hides the secrets in every message of out: the one place the
// engine's messages pass through before they become results, log lines
// or errors.
func (rd *Redactor) outcome(out outcome) outcome {
	if len(rd.secrets) == 0 {
		return out
	}
	out.message = rd.Text(out.message)
	for i := range out.entries {
		out.entries[i].message = rd.Text(out.entries[i].message)
	}
	return out
}

// redactSpans returns the byte ranges of s to replace, in order and
// apart; nil when there is none.
func redactSpans[T string | []byte](rd *Redactor, s T) [][2]int {
	if len(rd.secrets) == 0 {
		return nil
	}
	spans := findSecrets(rd, s)
	spans = append(spans, nestedSpans(rd, s)...)
	if spans == nil {
		return nil
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	merged := spans[:0]
	for _, sp := range spans {
		if n := len(merged); n > 0 && sp[0] <= merged[n-1][1] {
			merged[n-1][1] = max(merged[n-1][1], sp[1])
			continue
		}
		if oddBackslashesBefore(s, sp[0]) && (len(merged) == 0 || merged[len(merged)-1][1] < sp[0]) {
			sp[0]-- // in a JSON string, the escape it is in goes too
		}
		merged = append(merged, sp)
	}
	return merged
}

// findSecrets returns the byte ranges of s that spell a secret, in order
// and apart; nil when there is none.
func findSecrets[T string | []byte](rd *Redactor, s T) [][2]int {
	var spans [][2]int
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !rd.first[c] {
			continue
		}
		// What the escape at i stands for may start a secret too.
		d, escaped := c, false
		if u, n := unescape(s, i); n > 0 {
			d, escaped = u.b[0], true
		}
		for _, sec := range rd.secrets {
			if !sec.same(sec.text[0], c) && !(escaped && sec.same(sec.text[0], d)) {
				continue
			}
			if end, ok := spell(sec, s, i, 0); ok {
				spans = append(spans, [2]int{i, padding(sec, s, end)})
				i = spans[len(spans)-1][1] - 1
				break
			}
		}
	}
	return spans
}

// oddBackslashesBefore reports whether an odd number of backslashes
// comes right before s[i]: s[i] is then inside an escape (\\ or \uXXXX).
func oddBackslashesBefore[T string | []byte](s T, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}
