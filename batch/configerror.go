package batch

import "errors"

// Fix names what a person changes to mend a configuration error. The
// engine knows what it found; the caller (a command line) says it in its
// own terms, its flags.
type Fix uint8

const (
	// FixAddress: the API's address is wrong (no such host, no API there,
	// a redirect). Suggest may hold the root a redirect points at.
	FixAddress Fix = iota + 1
	// FixProxy: the proxy's name does not resolve (HTTPS_PROXY).
	FixProxy
	// FixTrust: the server's certificate was refused: the address is
	// wrong, or its certificate authority is not trusted.
	FixTrust
	// FixPlainHTTP: the address is plain http to a host that is not
	// loopback, which would send the token in the clear.
	FixPlainHTTP
	// FixAPIRoot: the address is not an API root (a user name in it, a
	// query, another scheme).
	FixAPIRoot
)

// ConfigError is an error of the configuration (errors.Is(err,
// ErrConfig)): what the engine found, and what to change (Fix, with
// Suggest a value to use when one is known). Its message names no flag.
type ConfigError struct {
	Msg     string
	Fix     Fix
	Suggest string // an API root to use instead, when known
}

func (e *ConfigError) Error() string { return e.Msg }

// Is makes a ConfigError an ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// AsConfigError returns the ConfigError in err's chain, if any.
func AsConfigError(err error) (*ConfigError, bool) {
	var ce *ConfigError
	ok := errors.As(err, &ce)
	return ce, ok
}

// configError is the error of a kindConfig outcome.
func (o outcome) configError() error {
	return &ConfigError{Msg: ErrConfig.Error() + ": " + o.message, Fix: o.fix, Suggest: o.suggest}
}
