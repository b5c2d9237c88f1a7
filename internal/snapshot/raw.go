package snapshot

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// masked stands in for a value of customer data.
const masked = "[masked]"

// rawNotJSON stands in for a raw read that is not JSON: its customer data
// could not be found to mask, so none of it is kept.
const rawNotJSON = "[left out: not JSON, so its customer data could not be masked]"

// reEmail finds e-mail addresses in free text (a history entry may quote
// one).
var reEmail = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)

// maskRaw returns raw (a read's element, which the engine has masked
// already) as compact JSON with customer data masked again: the value of
// every member whose name says customer data (customerName,
// customerEmail, customerPhone, email, phone, mobile, …), and any e-mail
// address in other text. Defence in depth: a raw snapshot is kept for
// months, and the engine's masking may miss a shape it did not expect.
func maskRaw(raw []byte) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // ids stay as written
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return rawNotJSON
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(mask(v)); err != nil {
		return rawNotJSON
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// mask masks customer data in a decoded JSON value.
func mask(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if personal(k) {
				v[k] = masked
			} else {
				v[k] = mask(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = mask(x)
		}
	case string:
		return reEmail.ReplaceAllString(v, masked)
	}
	return v
}

// personal reports whether a member's name says it holds customer data.
// A ticket's own names (statusName, queueName, agentName) are not
// customer data and stay.
func personal(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"customer", "email", "phone", "mobile", "contact", "address"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	switch n {
	case "name", "firstname", "lastname", "fullname", "first_name", "last_name", "full_name":
		return true
	}
	return false
}
