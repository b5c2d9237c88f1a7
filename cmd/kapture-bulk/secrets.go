package main

import (
	"io"
	"sync"

	"github.com/kapture-bulk/kapture-bulk/batch"
)

// secrets are the API tokens an invocation knows: KAPTURE_API_TOKEN, and
// the content of --token-file once read. What the command prints or
// writes for people passes through hide: stderr (cli wraps it, so every
// error, log line, warning and summary there), the summary JSON, and
// report's output. A message that quotes a file (a token file given as
// the input, a results file that is not one) or a server's echo then
// never shows a token, in any spelling batch.Redactor knows. Safe for
// concurrent use: logs and progress lines come from their own
// goroutines. A nil *secrets knows none.
type secrets struct {
	mu     sync.Mutex
	tokens []string
	rd     *batch.Redactor // of tokens; nil until hide needs it
}

// newSecrets knows the token in the environment, if any.
func newSecrets(getenv func(string) string) *secrets {
	s := &secrets{}
	if getenv != nil {
		s.add(getenv("KAPTURE_API_TOKEN"))
	}
	return s
}

// add makes token known; "" is none.
func (s *secrets) add(token string) {
	if s == nil || token == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, token)
	s.rd = nil
}

// hide returns text with every token known replaced.
func (s *secrets) hide(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	if s.rd == nil {
		s.rd = batch.NewRedactor(s.tokens...)
	}
	rd := s.rd
	s.mu.Unlock()
	return rd.Text(text)
}

// hidingWriter writes to w what it is given with the secrets hidden. It
// hides each Write whole, so it is for writers of whole messages: a log
// record, a line, the summary (as the standard logger and fmt.Fprintf
// write).
type hidingWriter struct {
	w io.Writer
	s *secrets
}

func (h hidingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(h.w, h.s.hide(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
