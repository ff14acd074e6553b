package formula_test

import (
	"testing"

	"github.com/portagehq/portage/shared/formula"
)

func TestNeutralize(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, expected string }{
		{"=1+1", "'=1+1"}, {"@SUM(A1)", "'@SUM(A1)"}, {"-2+3", "'-2+3"}, {"\tx", "'\tx"}, {"\rx", "'\rx"},
		// Signed numbers run nothing: a phone keeps its plus.
		{"+15551234567", "+15551234567"}, {"-12.5", "-12.5"}, {"+", "'+"}, {"-1.", "'-1."},
		{"Ada", "Ada"}, {"", ""},
	}
	for _, tt := range tests {
		if got := formula.Neutralize(tt.in); got != tt.expected {
			t.Errorf("Neutralize(%q) = %q, want %q", tt.in, got, tt.expected)
		}
	}
}
