package snapshot

import (
	"bytes"
	"encoding/json"
	"github.com/kapture-bulk/kapture-bulk/batch"
	"strings"
)

// masked stands in for a value of customer data.
const masked = "[masked]"

// rawNotJSON stands in for a raw read that is not JSON: its customer data
// could not be found to mask, so none of it is kept.
const rawNotJSON = "[left out: not JSON, so its customer data could not be masked]"

// maskRaw returns raw (a read's element, which the engine has masked
// already) as compact JSON with customer data masked again, by the
// engine's rule (batch.PersonalMember, batch.MaskPersonal): every member
// whose name says customer data (customerName, customerPhone,
// alternateNumber, …), and any e-mail address or phone-like number in
// other text but a ticket's id. Defence in depth: a raw snapshot is kept
// for months, and the engine's masking may miss a shape it did not expect.
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
			switch {
			case batch.PersonalMember(k):
				v[k] = masked
			case !batch.TicketIDMember(k):
				v[k] = mask(x)
			}
		}
	case []any:
		for i, x := range v {
			v[i] = mask(x)
		}
	case string:
		return batch.MaskPersonal(v, masked)
	}
	return v
}
