// Package formula keeps values a spreadsheet would run as formulas from
// running: exports and the import error report write them inert unless a
// caller asks for the raw values (a round trip, a migration).
package formula

import "strings"

// Neutralize makes a value that a spreadsheet would run as a formula
// (starting with = + - @, a tab or a carriage return) inert by prefixing an
// apostrophe, which spreadsheets show as text. A plain number with a sign
// ("+15551234567", "-12.5") runs nothing and is left as it is.
func Neutralize(v string) string {
	if v == "" || !strings.ContainsRune("=+-@\t\r", rune(v[0])) || PlainNumber(v) {
		return v
	}
	return "'" + v
}

// PlainNumber reports whether v is a number with a sign ("+15551234567",
// "-12.5"): it starts like a formula but runs nothing.
func PlainNumber(v string) bool {
	if v[0] != '+' && v[0] != '-' {
		return false
	}
	digits, dot := 0, false
	for _, r := range v[1:] {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.' && !dot && digits > 0:
			dot = true
		default:
			return false
		}
	}
	return digits > 0 && v[len(v)-1] != '.'
}
