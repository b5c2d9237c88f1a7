package batch

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
	"strings"
)

// Customer data in what a read brings back (task_details shows the
// customer's name, e-mail and phone) never leaves the engine unmasked: a
// ticket's Raw, ReadRaw's body and the excerpts in messages are masked.

// maskedValue stands in for a masked value.
const maskedValue = "***"

var (
	// reEmail finds an e-mail address in free text (a history entry may
	// quote one).
	reEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)
	// reMember finds a JSON member and its value (a string, or a bare
	// value) in text that does not parse as JSON (a truncated reply).
	reMember = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"?|[^,}\]\s]*)`)
)

// personal reports whether a member's name says its value is about a
// person (customerName, customerEmail, customerPhone, mobile, an
// address, any other name), except the names of the codes a ticket
// holds, which are the tenant's configuration and what a person checks a
// read for.
func personal(member string) bool {
	m := strings.ToLower(member)
	switch m {
	case "statusname", "substatusname", "sub_status_name", "queuename", "queue_name":
		return false
	}
	for _, s := range []string{"name", "email", "phone", "mobile", "customer", "contact", "address"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// maskBody returns body with customer data masked: as compact JSON when
// it is JSON (the value of every personal member masked, e-mail addresses
// in other text too); else with every personal member's value and every
// e-mail address found in the text masked.
func maskBody(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	if out, ok := maskJSON(body); ok {
		return out
	}
	out := reMember.ReplaceAllFunc(body, func(m []byte) []byte {
		sub := reMember.FindSubmatchIndex(m)
		if !personal(string(m[sub[2]:sub[3]])) {
			return m
		}
		return append(m[:sub[4]:sub[4]], `"`+maskedValue+`"`...)
	})
	return reEmail.ReplaceAll(out, []byte(maskedValue))
}

// maskJSON returns the JSON value raw as compact JSON, members in their
// order, personal members' values and e-mail addresses masked; ok is
// false when raw is not one JSON value.
func maskJSON(raw []byte) (out []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers as written
	var b bytes.Buffer
	if err := maskValue(dec, &b); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more after the value
	}
	return b.Bytes(), true
}

// maskValue copies the next JSON value of dec to b, masked.
func maskValue(dec *json.Decoder, b *bytes.Buffer) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			b.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := maskValue(dec, b); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			b.WriteByte(']')
			return err
		}
		b.WriteByte('{')
		for i := 0; dec.More(); i++ {
			if i > 0 {
				b.WriteByte(',')
			}
			key, err := dec.Token()
			if err != nil {
				return err
			}
			name, _ := key.(string)
			writeJSONString(b, name)
			b.WriteByte(':')
			if !personal(name) {
				err = maskValue(dec, b)
			} else {
				var skip json.RawMessage
				err = dec.Decode(&skip)
				writeJSONString(b, maskedValue)
			}
			if err != nil {
				return err
			}
		}
		_, err = dec.Token()
		b.WriteByte('}')
		return err
	case string:
		writeJSONString(b, reEmail.ReplaceAllString(t, maskedValue))
	case json.Number:
		b.WriteString(t.String())
	case bool:
		if t {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case nil:
		b.WriteString("null")
	}
	return nil
}

// writeJSONString writes s as a JSON string that is safe to print: every
// control character, line and paragraph separator and bidirectional
// formatting character escaped, invalid UTF-8 as U+FFFD.
func writeJSONString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s { // invalid UTF-8 comes as utf8.RuneError
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case isControl(r) || isBidiFormat(r):
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[r>>shift&0xf])
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
