package batch

import (
	"encoding/base64"
	"html"
	"strings"
	"unicode"
	"unicode/utf16"
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
// token written to the results CSV, the logs or the summary. It hides
// what the token is, however it is spelled: the token (base64's standard
// and URL-safe alphabets alike, its '=' padding or none), and when it is
// base64 the "user:secret" it decodes to and the secret alone. Each byte
// of these may come as itself or escaped (%3D or %3d, &#61; &#x3D; or
// &equals;, \u003d and JSON's other escapes, + for a space), and spaces,
// control, invisible and bidirectional characters or terminal escape
// sequences between two bytes do not hide it.
type redactor struct {
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

func newRedactor(token string) *redactor {
	rd := &redactor{}
	add := func(s string, tok bool) {
		if len(s) < minSecret {
			return
		}
		for _, have := range rd.secrets {
			if string(have.text) == s {
				return
			}
		}
		rd.secrets = append(rd.secrets, secret{text: []byte(s), token: tok})
	}
	// In the standard alphabet: same lets '-' and '_' stand for its bytes.
	std := strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(token, "="))
	add(std, true)
	if b, err := base64.RawStdEncoding.DecodeString(std); err == nil && utf8.Valid(b) {
		plain := string(b)
		add(plain, false)
		if _, pass, ok := strings.Cut(plain, ":"); ok {
			add(pass, false)
		}
	}
	// Longest first: the secret alone is the end of "user:secret".
	for i := 1; i < len(rd.secrets); i++ {
		for j := i; j > 0 && len(rd.secrets[j].text) > len(rd.secrets[j-1].text); j-- {
			rd.secrets[j], rd.secrets[j-1] = rd.secrets[j-1], rd.secrets[j]
		}
	}
	for _, s := range rd.secrets {
		for c := range 256 {
			if s.same(s.text[0], byte(c)) {
				rd.first[c] = true
			}
		}
	}
	if len(rd.secrets) > 0 {
		rd.first['%'], rd.first['&'], rd.first['\\'] = true, true, true
	}
	return rd
}

// body returns b with every secret replaced. It redacts a reply before it
// is read, so that an excerpt cut from it (an HTML page's title, the first
// characters of an unreadable body) cannot keep part of a secret the cut
// went through. A secret inside a JSON string is replaced with its
// escapes whole, so the JSON stays valid.
func (rd *redactor) body(b []byte) []byte {
	spans := findSecrets(rd, b)
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

// text returns s with every secret replaced.
func (rd *redactor) text(s string) string {
	spans := findSecrets(rd, s)
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

// outcome hides the secrets in every message of out: the one place the
// engine's messages pass through before they become results, log lines
// or errors.
func (rd *redactor) outcome(out outcome) outcome {
	if len(rd.secrets) == 0 {
		return out
	}
	out.message = rd.text(out.message)
	for i := range out.entries {
		out.entries[i].message = rd.text(out.entries[i].message)
	}
	return out
}

// findSecrets returns the byte ranges of s that spell a secret, in order
// and apart; nil when there is none.
func findSecrets[T string | []byte](rd *redactor, s T) [][2]int {
	var spans [][2]int
	for i := 0; i < len(s); i++ {
		if !rd.first[s[i]] {
			continue
		}
		for _, sec := range rd.secrets {
			if end, ok := spell(sec, s, i, 0); ok {
				start := i
				if oddBackslashesBefore(s, i) && (spans == nil || spans[len(spans)-1][1] < i) {
					start-- // in a JSON string, the escape it is in goes too
				}
				spans = append(spans, [2]int{start, padding(sec, s, end)})
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

// spell reports whether s from i spells sec.text from k, and where the
// spelling ends. Where s[i] could be read as itself or as the start of an
// escape (%25 is '%', or '%' then "25"), or a space as itself or skipped,
// both are tried.
func spell[T string | []byte](sec secret, s T, i, k int) (int, bool) {
	for k < len(sec.text) {
		if i < len(s) {
			if c := s[i]; c > ' ' && c < 0x7f && c != '%' && c != '&' && c != '\\' {
				// Printable ASCII that starts no escape: itself, or no match.
				if !sec.same(sec.text[k], c) {
					return 0, false
				}
				i, k = i+1, k+1
				continue
			}
		}
		if k > 0 && i < len(s) {
			if skip := ignorableLen(s, i); skip > 0 {
				// A space may stand for a token's '+' or be skipped.
				if sec.same(sec.text[k], s[i]) {
					if end, ok := spell(sec, s, i+1, k+1); ok {
						return end, true
					}
				}
				i += skip
			}
		}
		if i >= len(s) {
			return 0, false
		}
		if u, n := unescape(s, i); n > 0 && sec.fits(u.bytes(), k) {
			if end, ok := spell(sec, s, i+n, k+u.n); ok {
				return end, true
			}
		}
		if !sec.same(sec.text[k], s[i]) {
			return 0, false
		}
		i, k = i+1, k+1
	}
	return i, true
}

// same reports whether c stands for the secret's byte t: itself, '+' for
// a space (a form's encoding), and in a token '-' (or a space, a form's
// decoding) for '+' and '_' for '/'.
func (sec secret) same(t, c byte) bool {
	return t == c || (t == ' ' && c == '+') ||
		(sec.token && (t == '+' && (c == '-' || c == ' ') || t == '/' && c == '_'))
}

// fits reports whether the bytes dec spell the secret's text from k.
func (sec secret) fits(dec []byte, k int) bool {
	if k+len(dec) > len(sec.text) {
		return false
	}
	for j, c := range dec {
		if !sec.same(sec.text[k+j], c) {
			return false
		}
	}
	return true
}

// padding extends the spelling of a token that ends at end over the '='
// padding after it, however spelled.
func padding[T string | []byte](sec secret, s T, end int) int {
	if !sec.token {
		return end
	}
	for {
		i := end + ignorableLen(s, end)
		switch {
		case i >= len(s):
			return end
		case s[i] == '=':
			end = i + 1
		default:
			u, n := unescape(s, i)
			if n == 0 || string(u.bytes()) != "=" {
				return end
			}
			end = i + n
		}
	}
}

// ignorableLen is the length of the run at s[i] of what a reader skips
// over when reading a secret: spaces, control, invisible and
// bidirectional characters, terminal escape sequences, and escapes of
// these.
func ignorableLen[T string | []byte](s T, i int) int {
	start := i
	for i < len(s) {
		if n := escapeLen(s, i); n > 0 {
			i += n
			continue
		}
		if r, n := runeAt(s, i); blank(r) {
			i += n
			continue
		}
		if u, n := unescape(s, i); n > 0 {
			if r, size := utf8.DecodeRune(u.bytes()); size == u.n && blank(r) {
				i += n
				continue
			}
		}
		break
	}
	return i - start
}

// blank reports whether r is a space, a control or a format character
// (zero width, bidirectional, soft hyphen).
func blank(r rune) bool {
	return r == ' ' || isControl(r) || (r >= 0xa0 && (unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)))
}

func runeAt[T string | []byte](s T, i int) (rune, int) {
	if s[i] < utf8.RuneSelf {
		return rune(s[i]), 1
	}
	var buf [utf8.UTFMax]byte
	n := copy(buf[:], s[i:])
	return utf8.DecodeRune(buf[:n])
}

// spelt is what an escape stands for: at most two characters (a named
// character reference may be two).
type spelt struct {
	b [8]byte
	n int
}

func (u *spelt) bytes() []byte { return u.b[:u.n] }

func speltOf(p []byte) spelt {
	var u spelt
	u.n = copy(u.b[:], p)
	return u
}

func speltRune(r rune) spelt {
	var u spelt
	u.n = utf8.EncodeRune(u.b[:], r)
	return u
}

// unescape reads the escape at s[i]: %XX, an HTML character reference,
// or a JSON escape. It returns the bytes it stands for and its length, 0
// when none starts at i.
func unescape[T string | []byte](s T, i int) (spelt, int) {
	switch s[i] {
	case '%':
		if i+2 < len(s) {
			if h, ok := hexValue(s, i+1, i+3); ok {
				return spelt{b: [8]byte{byte(h)}, n: 1}, 3
			}
		}
	case '&':
		return unescapeEntity(s, i)
	case '\\':
		return unescapeJSON(s, i)
	}
	return spelt{}, 0
}

// unescapeEntity reads an HTML character reference: &#DDD; &#xHH; or a
// named one such as &equals;.
func unescapeEntity[T string | []byte](s T, i int) (spelt, int) {
	end := -1
	for j := i + 1; j < len(s) && j < i+34; j++ {
		if s[j] == ';' {
			end = j
			break
		}
	}
	if end < 0 {
		return spelt{}, 0
	}
	if s[i+1] == '#' {
		var r rune
		var ok bool
		if i+2 < end && (s[i+2] == 'x' || s[i+2] == 'X') {
			r, ok = hexValue(s, i+3, end)
		} else {
			r, ok = decValue(s, i+2, end)
		}
		if !ok || !utf8.ValidRune(r) {
			return spelt{}, 0
		}
		return speltRune(r), end + 1 - i
	}
	ref := string(s[i : end+1])
	if dec := html.UnescapeString(ref); dec != ref && len(dec) <= len(spelt{}.b) {
		return speltOf([]byte(dec)), end + 1 - i
	}
	return spelt{}, 0
}

// unescapeJSON reads a JSON string escape: \uXXXX (a surrogate pair as
// one character), \n, \/ and the others.
func unescapeJSON[T string | []byte](s T, i int) (spelt, int) {
	if i+1 >= len(s) {
		return spelt{}, 0
	}
	switch c := s[i+1]; c {
	case '"', '\\', '/':
		return speltRune(rune(c)), 2
	case 'b':
		return speltRune('\b'), 2
	case 'f':
		return speltRune('\f'), 2
	case 'n':
		return speltRune('\n'), 2
	case 'r':
		return speltRune('\r'), 2
	case 't':
		return speltRune('\t'), 2
	case 'u':
		if i+6 > len(s) {
			return spelt{}, 0
		}
		r, ok := hexValue(s, i+2, i+6)
		if !ok {
			return spelt{}, 0
		}
		if utf16.IsSurrogate(r) && i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' {
			if lo, ok := hexValue(s, i+8, i+12); ok {
				if pair := utf16.DecodeRune(r, lo); pair != utf8.RuneError {
					return speltRune(pair), 12
				}
			}
		}
		return speltRune(r), 6
	}
	return spelt{}, 0
}

// hexValue reads s[from:to] as hex digits of any case (at most 6).
func hexValue[T string | []byte](s T, from, to int) (rune, bool) {
	if to <= from || to-from > 6 {
		return 0, false
	}
	var r rune
	for j := from; j < to; j++ {
		c := s[j]
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c|0x20 && c|0x20 <= 'f':
			r = r<<4 | rune(c|0x20-'a'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// decValue reads s[from:to] as decimal digits (at most 7).
func decValue[T string | []byte](s T, from, to int) (rune, bool) {
	if to <= from || to-from > 7 {
		return 0, false
	}
	var r rune
	for j := from; j < to; j++ {
		if s[j] < '0' || s[j] > '9' {
			return 0, false
		}
		r = r*10 + rune(s[j]-'0')
	}
	return r, true
}
