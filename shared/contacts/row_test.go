package contacts_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/contacts"
)

// The hand-written encoder must say what encoding/json would, for any text.
func TestRowJSONRoundTrip(t *testing.T) {
	t.Parallel()
	ws := uuid.New()
	del := "2024-01-02T03:04:05.123456+00:00"
	nasty := "quote \" back \\ nl \n cr \r tab \t bell \a nul-free é 漢 <>&\u2028 \xff"
	r := contacts.Row{ID: uuid.New(), TenantID: uuid.New(), WorkspaceID: &ws, Tags: []string{"a", nasty},
		Custom:    map[string]json.RawMessage{"z": json.RawMessage(`1.50`), "a": json.RawMessage(`"x"`), "b": json.RawMessage(`true`)},
		CreatedAt: "2024-01-01T00:00:00+00:00", DeletedAt: &del}
	r.Values[contacts.Email] = &nasty
	b, err := json.Marshal(r)
	if err != nil || !json.Valid(b) {
		t.Fatalf("invalid JSON %s: %v", b, err)
	}
	var back contacts.Row
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := r
	fixed := "quote \" back \\ nl \n cr \r tab \t bell \a nul-free é 漢 <>&\u2028 \ufffd"
	want.Values[contacts.Email] = &fixed
	want.Tags = []string{"a", fixed}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip\n%+v\nwant\n%+v", back, want)
	}
}

// The string encoder copies clean runs whole and escapes byte by byte only
// around what needs it: every kind of byte, at every place in a value, must
// still read back as the text encoding/json reads from its own encoding
// (invalid UTF-8 as U+FFFD), and be valid UTF-8 itself.
func TestSnapshotStringsMatchEncodingJSON(t *testing.T) {
	t.Parallel()
	pieces := []string{"", "a", "plain text", "\"", "\\", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "é", "漢", "🙂",
		"\u2028", "<>&", "\xff", "\xe6\xbc", "\xed\xa0\x80"}
	for _, a := range pieces {
		for _, b := range pieces {
			for _, c := range pieces {
				v := a + b + c
				r := contacts.Row{Values: [contacts.NumFields]*string{contacts.Email: &v}}
				got, _ := r.MarshalJSON()
				// encoding/json would read invalid UTF-8 back as U+FFFD
				// too; PostgreSQL would reject the snapshot instead.
				if !utf8.Valid(got) {
					t.Fatalf("%q: snapshot is not valid UTF-8: %q", v, got)
				}
				var snap struct{ Email string }
				if err := json.Unmarshal(got, &snap); err != nil {
					t.Fatalf("%q: invalid JSON %s: %v", v, got, err)
				}
				var want string
				raw, _ := contacts.MarshalValue(v)
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatal(err)
				}
				if snap.Email != want {
					t.Errorf("%q: snapshot reads back %q, want %q", v, snap.Email, want)
				}
			}
		}
	}
}
