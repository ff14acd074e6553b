package importer

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/mapping"
)

func partRowsForTest() []partRow {
	nasty := "quote \" back \\ nl \n tab \t é 漢 🙂 \x00 <>&"
	full := contacts.Input{Mapped: 1<<contacts.Email | 1<<contacts.City, Tags: []string{"vip", nasty, ""},
		Custom: map[string]any{"plan": nasty, "seats": json.Number("12"), "ratio": json.Number("1.50"), "trial": true, "blank": ""}}
	full.Values[contacts.Email] = "ada@example.com"
	full.Values[contacts.City] = nasty
	bare := contacts.Input{Mapped: 1 << contacts.Email}
	bare.Values[contacts.Email] = "b@example.com"
	return []partRow{
		{Row: 2, Input: &full},
		{Row: 3, Input: &bare},
		{Row: 4, DupOf: 2},
		{Row: 1 << 20, Errors: []mapping.RowError{{Row: 1 << 20, Column: "Email", Value: nasty, Message: "not an email address"}, {Row: 1 << 20, Message: "row has 3 values"}}},
	}
}

// Parts are the only way rows reach a chunk: every kind of row, and every
// kind of value in one, must come back as prepare wrote it.
func TestPartRoundTrip(t *testing.T) {
	t.Parallel()
	want := partRowsForTest()
	var w partWriter
	w.reset()
	for _, r := range want {
		if err := w.add(r); err != nil {
			t.Fatal(err)
		}
	}
	expectPart(t, string(w.buf), want)
}

// expectPart decodes a part and compares its rows with want.
func expectPart(t *testing.T, part string, want []partRow) {
	t.Helper()
	got, err := decodePart(part)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded:\n got %#v\nwant %#v", got, want)
	}
}

// Executions prepared before the binary format are redriven with their
// parts as they were: JSON lines still read the same.
func TestPartJSONLinesStillRead(t *testing.T) {
	t.Parallel()
	want := partRowsForTest()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range want {
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	expectPart(t, b.String(), want)
}

// A part cut short (a partial write, a damaged object) is an error wherever
// it is cut, never fewer rows read as if they were all.
func TestPartCutShortIsAnError(t *testing.T) {
	t.Parallel()
	var w partWriter
	w.reset()
	for _, r := range partRowsForTest() {
		if err := w.add(r); err != nil {
			t.Fatal(err)
		}
	}
	ends := map[int]bool{len(partMagic): true, len(w.buf): true} // no rows, all rows
	var probe partWriter
	probe.reset()
	for _, r := range partRowsForTest() {
		probe.add(r)
		ends[len(probe.buf)] = true
	}
	for cut := 0; cut <= len(w.buf); cut++ {
		_, err := decodePart(string(w.buf[:cut]))
		if ends[cut] && err != nil {
			t.Errorf("cut at a row end (%d bytes): %v", cut, err)
		}
		if !ends[cut] && err == nil {
			t.Errorf("cut inside a row (%d of %d bytes) read without an error", cut, len(w.buf))
		}
	}
}
