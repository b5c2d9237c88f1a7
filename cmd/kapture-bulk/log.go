package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// newLogger logs to w; warnings repeated within every are held back and
// counted (see repeatLimiter).
func newLogger(w io.Writer, format, level string, every time.Duration) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch strings.ToLower(format) {
	case "text", "":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usagef("--log-format %q: want text or json", format)
	}
	return slog.New(newRepeatLimiter(h, every)), nil
}

// repeatLimiter is a slog.Handler that lets a warning with a given message
// through once per interval and drops the repeats in between, counting
// them on the next one that passes ("repeated": N). The engine warns per
// event (each rate cut); an operator needs to know it keeps happening,
// not every instance.
type repeatLimiter struct {
	slog.Handler
	every time.Duration
	state *repeatState
}

type repeatState struct {
	mu   sync.Mutex
	last map[string]time.Time
	held map[string]int
}

func newRepeatLimiter(h slog.Handler, every time.Duration) *repeatLimiter {
	return &repeatLimiter{Handler: h, every: every, state: &repeatState{last: map[string]time.Time{}, held: map[string]int{}}}
}

func (h *repeatLimiter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelWarn {
		return h.Handler.Handle(ctx, r)
	}
	s := h.state
	s.mu.Lock()
	last, seen := s.last[r.Message]
	// A tenth of slack: a warning logged on a ticker of the same period
	// (the retry summary) must not be held for a few ms of jitter.
	if seen && r.Time.Sub(last) < h.every-h.every/10 {
		s.held[r.Message]++
		s.mu.Unlock()
		return nil
	}
	held := s.held[r.Message]
	s.last[r.Message] = r.Time
	s.held[r.Message] = 0
	s.mu.Unlock()
	if held > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", held))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *repeatLimiter) WithAttrs(as []slog.Attr) slog.Handler {
	return &repeatLimiter{Handler: h.Handler.WithAttrs(as), every: h.every, state: h.state}
}

func (h *repeatLimiter) WithGroup(name string) slog.Handler {
	return &repeatLimiter{Handler: h.Handler.WithGroup(name), every: h.every, state: h.state}
}
