// Package plural spells a count with the words that agree with it, for
// what people read: "1 row repeats a ticket_id", "2 rows repeat a
// ticket_id".
package plural

import "strconv"

// Of returns n followed by one when n is 1, else by many: Of(1, "row",
// "rows") is "1 row", Of(0, "row", "rows") is "0 rows". one and many may
// hold a whole phrase that agrees with n ("row repeats", "rows repeat").
func Of[N ~int | ~int64](n N, one, many string) string {
	return strconv.FormatInt(int64(n), 10) + " " + Pick(n, one, many)
}

// Pick returns one when n is 1, else many: for a word that must agree
// with a count said before it ("it", "them").
func Pick[N ~int | ~int64](n N, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
