package batch

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestRedactorSpellings: the token is hidden by what it is, however it
// is spelled; nothing else is touched.
func TestRedactorSpellings(t *testing.T) {
	rd := newRedactor("dGVzdDpzZWNyZXQ=") // base64 of "test:secret"
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
		if got := rd.text(tt.in); got != tt.want {
			t.Errorf("text(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := string(rd.body([]byte(tt.in))); got != tt.want {
			t.Errorf("body(%q) = %q, want %q", tt.in, got, tt.want)
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
		if got := newRedactor(tt.token).text("key " + tt.echo + "."); got != "key [redacted]." {
			t.Errorf("token %s, echo %s: %q", tt.token, tt.echo, got)
		}
	}
}

// TestRedactedBodyStaysJSON: a token escaped inside a JSON string is
// replaced with its escapes, the one it starts in included.
func TestRedactedBodyStaysJSON(t *testing.T) {
	rd := newRedactor("dGVzdDpzZWNyZXQ=")
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

// TestShortTokenNotHidden: below minSecret nothing is hidden.
func TestShortTokenNotHidden(t *testing.T) {
	rd := newRedactor("abc=")
	if got := rd.text("abc abc= abc"); got != "abc abc= abc" {
		t.Errorf("text = %q", got)
	}
}

func FuzzRedactor(f *testing.F) {
	for _, s := range []string{"dGVzdDpzZWNyZXQ=", "%64%47&#x56;\\u007a", "\\\\dGVz\\", "&#;&#x;%", "\x1b]0;\x1b\\", "\\ud83d\\ude00"} {
		f.Add(s)
	}
	rd := newRedactor("dGVzdDpzZWNyZXQ=")
	f.Fuzz(func(t *testing.T, in string) {
		got := rd.text(in)
		if strings.Contains(got, "dGVzdDpzZWNyZXQ") || strings.Contains(got, "secret") {
			t.Fatalf("text(%q) = %q", in, got)
		}
		if b := string(rd.body([]byte(in))); b != got {
			t.Fatalf("body(%q) = %q, text %q", in, b, got)
		}
	})
}
