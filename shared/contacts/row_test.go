package contacts_test

import (
	"encoding/json"
	"reflect"
	"testing"

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
