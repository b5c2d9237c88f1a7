package batch

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRedactorSpellings: the token is hidden by what it is, however it
// is spelled; nothing else is touched.
func TestRedactorSpellings(t *testing.T) {
	rd := NewRedactor("dGVzdDpzZWNyZXQ=") // base64 of "test:secret"
	tests := []struct{ in, want string }{
		{"key dGVzdDpzZWNyZXQ= refused", "key [redacted] refused"},
		{"key dGVzdDpzZWNyZXQ refused", "key [redacted] refused"},
		{"key dGVzdDpzZWNyZXQ%3d refused", "key [redacted] refused"},
		{"key dGVzdDpzZWNyZXQ%3D%3D refused", "key [redacted] refused"},
		{"key dGVzdDpzZWNyZXQ&#61;", "key [redacted]"},
		{"key dGVzdDpzZWNyZXQ&#x3d;&#X3D;&equals;", "key [redacted]"},
		{`key dGVzdDpz\u005aWNyZXQ\u003D`, "key [redacted]"},
		{"key %64%47%56%7a%64%44%70%7A%5a%57%4e%79%5a%58%51", "key [redacted]"},
		{"key dGVzdDpz\u200bZWNy\x1b[0mZXQ\r\n=", "key [redacted]"},
		{"key dGVz dDpz ZWNy ZXQ=", "key [redacted]"},
		{"user test:secret, or secret", "user [redacted], or [redacted]"},
		{"user test%3Asecret and s&#101;cret", "user [redacted] and [redacted]"},
		// Not the token: left as they are.
		{"secre and dGVzdDpzZWNy and test:", "secre and dGVzdDpzZWNy and test:"},
		{"100% & \\ no escape %zz &#xZZ; \\q", "100% & \\ no escape %zz &#xZZ; \\q"},
	}
	for _, tt := range tests {
		if got := rd.Text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(rd.body([]byte(tt.in))); got != tt.want {
			t.Errorf("body(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactorNestedEscapes: the token escaped more than once (a server
// that percent-encodes what it already percent-encoded, or entity-encodes
// it), in hex, in upper case or full-width is hidden whole; a prefix of
// it must not stay behind (it decodes to most of the password).
func TestRedactorNestedEscapes(t *testing.T) {
	const token = "YWRtaW46czNjcjN0fn5+UGFzc3cwcmQ/Pw==" // admin:s3cr3t~~~Passw0rd??
	rd := NewRedactor("Basic " + token)
	pct := func(s string) string {
		var b strings.Builder
		for _, c := range []byte(s) {
			fmt.Fprintf(&b, "%%%02X", c)
		}
		return b.String()
	}
	fullWidth := func(s string) string {
		return strings.Map(func(r rune) rune { return r + 0xfee0 }, s)
	}
	for _, echo := range []string{
		"YWRtaW46czNjcjN0fn5%252BUGFzc3cwcmQ%252FPw%253D%253D",
		"YWRtaW46czNjcjN0fn5%25252BUGFzc3cwcmQ%25252FPw%25253D",
		"YWRtaW46czNjcjN0fn5&#37;2BUGFzc3cwcmQ&#37;2FPw&#37;3D",
		"YWRtaW46czNjcjN0fn5%26%2343%3BUGFzc3cwcmQ/Pw==",
		"YWRtaW46czNjcjN0fn5&amp;#43;UGFzc3cwcmQ&amp;#x2f;Pw",
		`{"m":"YWRtaW46czNjcjN0fn5\\u002bUGFzc3cwcmQ/Pw=="}`,
		strings.ReplaceAll(pct(token), "%", "%25"),
		hex.EncodeToString([]byte(token)),
		strings.ToUpper(hex.EncodeToString([]byte("admin:s3cr3t~~~Passw0rd??"))),
		hex.EncodeToString([]byte("s3cr3t~~~Passw0rd??")),
		"S3CR3T~~~PASSW0RD??",
		fullWidth("s3cr3t~~~Passw0rd??"),
	} {
		got := rd.Text("key " + echo + ".")
		if strings.Contains(strings.ToLower(got), "ywrtaw46") || strings.Contains(strings.ToLower(got), "s3cr3t") || !strings.Contains(got, redacted) ||
			strings.Contains(got, "595752") || strings.Contains(got, "733363") {
			t.Errorf("echo %s: %q", echo, got)
		}
		if b := string(rd.body([]byte(echo))); b != rd.Text(echo) {
			t.Errorf("body(%q) = %q, text %q", echo, b, rd.Text(echo))
		}
	}
}

// TestRedactorTokens: a Redactor hides each of the tokens it is given.
func TestRedactorTokens(t *testing.T) {
	rd := NewRedactor("dGVzdDpzZWNyZXQ=", "", "Basic b3BzOmFub3RoZXJvbmU=")
	if got := rd.Text("a test:secret b anotherone c dGVzdDpzZWNyZXQ"); got != "a [redacted] b [redacted] c [redacted]" {
		t.Errorf("Text = %q", got)
	}
}

// TestRedactorNestedCost: a text made of nested escapes, longer than a
// window, is redacted in time linear in its size (about 40 ms here
// without -race; a cost quadratic in the size would take hours), and a
// secret across a window's end is found.
func TestRedactorNestedCost(t *testing.T) {
	rd := NewRedactor("dGVzdDpzZWNyZXQ=")
	const secret = "dGVzdDpzZWNyZXQ%25253D"
	for _, unit := range []string{"%2525", "&#38;#38;", `\\\\`} {
		filler := strings.Repeat(unit, (nestWindow-10)/len(unit)) // the first secret goes past the first window
		text := filler + secret + filler + secret
		start := time.Now()
		got := rd.Text(text)
		if strings.Count(got, redacted) != 2 {
			t.Errorf("%q…: %d redacted, want 2", unit, strings.Count(got, redacted))
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q…: %v for %d bytes", unit, d, len(text))
		}
	}
}

// TestRedactorURLSafeToken: a token in base64's URL-safe alphabet is
// hidden in the standard one, and the other way round.
func TestRedactorURLSafeToken(t *testing.T) {
	plain := "ops:P>>>w~~~d???4"
	std := base64.StdEncoding.EncodeToString([]byte(plain))
	url := base64.RawURLEncoding.EncodeToString([]byte(plain))
	if std == url+"=" || !strings.HasSuffix(std, "=") {
		t.Fatalf("tokens %s and %s: want the alphabets and the padding to differ", std, url)
	}
	for _, tt := range []struct{ token, echo string }{
		{std, url}, {url, std}, {url, plain}, {url, "P>>>w~~~d???4"},
		{std, strings.ReplaceAll(std, "+", " ")}, // a form decoded
	} {
		if got := NewRedactor(tt.token).Text("key " + tt.echo + "."); got != "key [redacted]." {
			t.Errorf("token %s, echo %s: %q", tt.token, tt.echo, got)
		}
	}
}

// TestRedactedBodyStaysJSON: a token escaped inside a JSON string is
// replaced with its escapes, the one it starts in included.
func TestRedactedBodyStaysJSON(t *testing.T) {
	rd := NewRedactor("dGVzdDpzZWNyZXQ=")
	for _, body := range []string{
		`{"message":"key \u0064GVzdDpzZWNyZXQ\u003d","status":"failed"}`,
		`{"message":"key \\dGVzdDpzZWNyZXQ=","status":"failed"}`,
		`{"message":"key \\\u0064GVzdDpzZWNyZXQ=\\","status":"failed"}`,
		`{"message":"key dGVzdDpz\nZWNyZXQ\/","status":"failed"}`,
	} {
		got := rd.body([]byte(body))
		var v struct{ Message string }
		if err := json.Unmarshal(got, &v); err != nil || !strings.Contains(v.Message, redacted) {
			t.Errorf("body %s redacted to %s: %v", body, got, err)
		}
	}
}

// TestShortTokenNotHidden: below minSecret nothing is hidden, not even
// in hex (a short secret's hex would blank digits of ticket ids).
func TestShortTokenNotHidden(t *testing.T) {
	rd := NewRedactor("abc=")
	if got := rd.Text("abc abc= abc 616263 ticket 713616263001"); got != "abc abc= abc 616263 ticket 713616263001" {
		t.Errorf("text = %q", got)
	}
	rd = NewRedactor(base64.StdEncoding.EncodeToString([]byte("ops:abc")))
	if got := rd.Text("ticket 713616263001"); got != "ticket 713616263001" {
		t.Errorf("text = %q", got)
	}
}

func FuzzRedactor(f *testing.F) {
	for _, s := range []string{"dGVzdDpzZWNyZXQ=", "%64%47&#x56;\\u007a", "\\\\dGVz\\", "&#;&#x;%", "\x1b]0;\x1b\\", "\\ud83d\\ude00"} {
		f.Add(s)
	}
	rd := NewRedactor("dGVzdDpzZWNyZXQ=")
	f.Fuzz(func(t *testing.T, in string) {
		got := rd.Text(in)
		if strings.Contains(got, "dGVzdDpzZWNyZXQ") || strings.Contains(got, "secret") {
			t.Fatalf("text(%q) = %q", in, got)
		}
		if b := string(rd.body([]byte(in))); b != got {
			t.Fatalf("body(%q) = %q, text %q", in, b, got)
		}
	})
}
