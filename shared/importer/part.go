package importer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/mapping"
)

// A chunk part holds a chunk's rows as prepare left them. Parts are written
// once and read by every attempt at their chunk, so they are made to be read
// fast: after a magic line, each row is a row number, a kind byte and
// length-prefixed values (uvarints), with the rare parts (custom fields, row
// errors) as JSON. Decoding JSON lines through encoding/json cost a chunk
// more than building its SQL. Parts written before this format (JSON lines,
// still read) start with '{'.
const partMagic = "portage-part-1\n"

// Row kinds in a part.
const (
	partInput  = 'c'
	partDup    = 'd'
	partErrors = 'e'
)

// partWriter appends rows to a part.
type partWriter struct {
	buf []byte
	// json holds one value while it is encoded, reused from row to row.
	json bytes.Buffer
}

func (w *partWriter) reset() { w.buf = append(w.buf[:0], partMagic...) }

func (w *partWriter) uvarint(v uint64) { w.buf = binary.AppendUvarint(w.buf, v) }

func (w *partWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// jsonValue appends v as JSON, without HTML escaping (as the JSON lines did).
func (w *partWriter) jsonValue(v any) error {
	w.json.Reset()
	enc := json.NewEncoder(&w.json)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b := bytes.TrimSuffix(w.json.Bytes(), []byte("\n"))
	w.uvarint(uint64(len(b)))
	w.buf = append(w.buf, b...)
	return nil
}

func (w *partWriter) add(r partRow) error {
	w.uvarint(uint64(r.Row))
	switch {
	case r.Input != nil:
		w.buf = append(w.buf, partInput)
		in := r.Input
		w.uvarint(uint64(in.Mapped))
		for _, v := range in.Values {
			w.str(v)
		}
		w.uvarint(uint64(len(in.Tags)))
		for _, t := range in.Tags {
			w.str(t)
		}
		if len(in.Custom) == 0 {
			w.str("")
			return nil
		}
		return w.jsonValue(in.Custom)
	case r.DupOf > 0:
		w.buf = append(w.buf, partDup)
		w.uvarint(uint64(r.DupOf))
	default:
		w.buf = append(w.buf, partErrors)
		return w.jsonValue(r.Errors)
	}
	return nil
}

// decodePart reads a whole part. Its values are substrings of s, the part,
// instead of one allocation each.
func decodePart(s string) ([]partRow, error) {
	if strings.HasPrefix(s, "{") {
		return decodeJSONPart(s)
	}
	rest, ok := strings.CutPrefix(s, partMagic)
	if !ok {
		return nil, errors.New("not a chunk part")
	}
	d := partDecoder{s: rest}
	var rows []partRow
	for d.pos < len(d.s) {
		r, err := d.row()
		if err != nil {
			return nil, fmt.Errorf("row %d of the part: %w", len(rows)+1, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

type partDecoder struct {
	s   string
	pos int
	err error
}

var errTruncated = errors.New("the part ends inside a row")

func (d *partDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		if d.pos >= len(d.s) {
			d.err = errTruncated
			return 0
		}
		c := d.s[d.pos]
		d.pos++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	d.err = errors.New("a number in the part is too long")
	return 0
}

func (d *partDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.pos) {
		d.err = errTruncated
		return ""
	}
	s := d.s[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return s
}

func (d *partDecoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.pos >= len(d.s) {
		d.err = errTruncated
		return 0
	}
	d.pos++
	return d.s[d.pos-1]
}

// jsonValue decodes the JSON value s into v; numbers stay json.Number, as
// the JSON lines decoded them.
func (d *partDecoder) jsonValue(s string, v any) {
	if d.err != nil || s == "" {
		return
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	d.err = dec.Decode(v)
}

func (d *partDecoder) row() (partRow, error) {
	r := partRow{Row: int(d.uvarint())}
	switch kind := d.byte(); kind {
	case partInput:
		in := &contacts.Input{Mapped: uint32(d.uvarint())}
		for f := range in.Values {
			in.Values[f] = d.str()
		}
		if n := d.uvarint(); n > uint64(len(d.s)-d.pos) {
			d.err = errTruncated
		} else if n > 0 {
			in.Tags = make([]string, n)
			for i := range in.Tags {
				in.Tags[i] = d.str()
			}
		}
		d.jsonValue(d.str(), &in.Custom)
		r.Input = in
	case partDup:
		r.DupOf = int(d.uvarint())
	case partErrors:
		d.jsonValue(d.str(), &r.Errors)
	default:
		if d.err == nil {
			d.err = fmt.Errorf("unknown row kind %q", kind)
		}
	}
	return r, d.err
}

// decodeJSONPart reads a part written as JSON lines, one partRow a line.
func decodeJSONPart(s string) ([]partRow, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var rows []partRow
	for {
		var r partRow
		if err := dec.Decode(&r); err == io.EOF {
			return rows, nil
		} else if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
}

// partRow is one row of a chunk part. Exactly one of Input, DupOf, Errors is
// set. The JSON names are those of the parts written as JSON lines.
type partRow struct {
	Row    int                `json:"r"`
	Input  *contacts.Input    `json:"c,omitempty"`
	DupOf  int                `json:"d,omitempty"`
	Errors []mapping.RowError `json:"e,omitempty"`
}
