package batch

import (
	"bytes"
	"encoding/json"
	"io"
	"regexp"
)

// Customer data in what a read brings back (task_details shows the
// customer's name, e-mail and phone; free text may quote a phone) never
// leaves the engine unmasked: a ticket's Raw, ReadRaw's body and the
// excerpts in messages are masked, by one rule (personal.go).

// maskedValue stands in for a masked value.
const maskedValue = "***"

// reMember finds a JSON member and its value (a string, or a bare value)
// in text that does not parse as JSON (a truncated reply).
// An object or array as a value is not taken: its members are found in
// turn.
var reMember = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"?|[^,{}\[\]\s"]*)`)

// maskBody returns body with customer data masked (PersonalMember,
// MaskPersonal): as compact JSON when it is JSON; else member by member as
// found, and the text between them as free text.
func maskBody(body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	if out, ok := maskJSON(body); ok {
		return out
	}
	var b bytes.Buffer
	last := 0
	for _, m := range reMember.FindAllSubmatchIndex(body, -1) {
		b.WriteString(MaskPersonal(string(body[last:m[0]]), maskedValue))
		name, value := string(body[m[2]:m[3]]), body[m[4]:m[5]]
		b.Write(body[m[0]:m[4]])
		switch {
		case PersonalMember(name):
			b.WriteString(`"` + maskedValue + `"`)
		case TicketIDMember(name):
			b.Write(value)
		default:
			b.WriteString(MaskPersonal(string(value), maskedValue))
		}
		last = m[1]
	}
	b.WriteString(MaskPersonal(string(body[last:]), maskedValue))
	return b.Bytes()
}

// maskJSON returns the JSON value raw as compact JSON, members in their
// order, customer data masked; ok is false when raw is not one JSON
// value.
func maskJSON(raw []byte) (out []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers as written
	var b bytes.Buffer
	if err := maskValue(dec, &b, false); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more after the value
	}
	return b.Bytes(), true
}

// maskValue copies the next JSON value of dec to b, masked; id says it is
// the value of a ticket id's member, kept as it is.
func maskValue(dec *json.Decoder, b *bytes.Buffer, id bool) error {
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
				if err := maskValue(dec, b, false); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			b.WriteByte(']')
			return err
		}
		return maskObject(dec, b)
	case string:
		if !id {
			t = MaskPersonal(t, maskedValue)
		}
		writeJSONString(b, t)
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

// maskObject copies the members of the object dec is in to b, masked,
// and its end.
func maskObject(dec *json.Decoder, b *bytes.Buffer) error {
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
		if !PersonalMember(name) {
			err = maskValue(dec, b, TicketIDMember(name))
		} else {
			var skip json.RawMessage
			err = dec.Decode(&skip)
			writeJSONString(b, maskedValue)
		}
		if err != nil {
			return err
		}
	}
	_, err := dec.Token()
	b.WriteByte('}')
	return err
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
