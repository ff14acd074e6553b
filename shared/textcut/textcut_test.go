package textcut

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRunes(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"héllo", 5, "héllo"}, // 6 bytes, 5 characters: not cut
		{"héllo!", 5, "héll…"},
		{"日本語です", 4, "日本語…"},
		{"日本語", 3, "日本語"},
		{"😀😀😀😀", 2, "😀…"},
		{"ab", 1, "…"},
		{"abc", 0, ""},
	} {
		got := Runes(c.in, c.n)
		if got != c.want {
			t.Errorf("Runes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if c.n > 0 && utf8.RuneCountInString(got) > c.n {
			t.Errorf("Runes(%q, %d) has %d characters", c.in, c.n, utf8.RuneCountInString(got))
		}
	}
}

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"aé", 2, "a…"}, // é is two bytes: the cut goes before it, not through it
		{"日本", 4, "日…"},
		{"日本", 2, "…"},
	} {
		got := Bytes(c.in, c.n)
		if got != c.want {
			t.Errorf("Bytes(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Bytes(%q, %d) = %q is not valid UTF-8", c.in, c.n, got)
		}
		if kept := strings.TrimSuffix(got, Ellipsis); got != c.in && len(kept) > c.n {
			t.Errorf("Bytes(%q, %d) kept %d bytes", c.in, c.n, len(kept))
		}
	}
}
