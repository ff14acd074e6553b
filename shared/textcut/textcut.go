// Package textcut shortens text that people read (messages, previews,
// spreadsheet cells) on a character boundary, with an ellipsis that says
// something was cut.
package textcut

import "unicode/utf8"

// Ellipsis ends a cut text.
const Ellipsis = "…"

// Runes returns s if it has at most n characters (runes), else its first
// n-1 and an ellipsis: n characters in all.
func Runes(s string, n int) string {
	if len(s) <= n { // a rune is at least a byte
		return s
	}
	if n < 1 {
		return ""
	}
	count, cut := 0, 0
	for i := range s {
		switch count {
		case n - 1:
			cut = i
		case n:
			return s[:cut] + Ellipsis
		}
		count++
	}
	return s
}

// Bytes returns s if it is at most n bytes long, else the longest start of
// it that is at most n bytes and ends between two characters, and an
// ellipsis.
func Bytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + Ellipsis
}
