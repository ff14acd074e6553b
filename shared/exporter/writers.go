package exporter

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/formula"
	"github.com/portagehq/portage/shared/textcut"
)

// cell is one exported value: a string, a time, a list of strings (tags),
// or raw JSON (a custom field).
type cell struct {
	s    string
	t    *time.Time
	list []string
	raw  json.RawMessage
	null bool
}

func (c cell) text() string {
	switch {
	case c.null:
		return ""
	case c.t != nil:
		return c.t.UTC().Format(timeFormat)
	case c.list != nil:
		return strings.Join(c.list, ", ")
	case c.raw != nil:
		var s string
		if json.Unmarshal(c.raw, &s) == nil {
			return s
		}
		return string(c.raw)
	}
	return c.s
}

// timeFormat is how csv and json write timestamps: RFC 3339 in UTC with up
// to microseconds, as csvRewriter makes PostgreSQL's own text of them in
// the COPY path.
const timeFormat = "2006-01-02T15:04:05.999999-07:00"

// writer writes one file format, row by row, to an io.Writer.
type writer interface {
	header(fields []string) error
	row(cells []cell) error
	close() error
}

func newWriter(format string, w io.Writer, formulaSafe bool) (writer, error) {
	switch format {
	case "csv":
		// Records end in CRLF; line breaks inside values stay as they are
		// (encoding/csv's UseCRLF would rewrite them too).
		return &csvWriter{w: csv.NewWriter(&csvRewriter{w: w, fieldStart: true}), out: w, safe: formulaSafe}, nil
	case "json":
		return &jsonWriter{w: bufio.NewWriterSize(w, 64<<10)}, nil
	case "xlsx":
		return newXLSXWriter(w), nil
	}
	return nil, fmt.Errorf("unknown file format %q", format)
}

// csvWriter writes RFC 4180 (CRLF) UTF-8 with a BOM, so that Excel reads
// accents right.
type csvWriter struct {
	w    *csv.Writer
	out  io.Writer
	safe bool
}

func (c *csvWriter) header(fields []string) error {
	if _, err := io.WriteString(c.out, "\uFEFF"); err != nil {
		return err
	}
	return c.w.Write(fields)
}

func (c *csvWriter) row(cells []cell) error {
	rec := make([]string, len(cells))
	for i, v := range cells {
		rec[i] = v.text()
		if c.safe {
			rec[i] = formula.Neutralize(rec[i])
		}
	}
	return c.w.Write(rec)
}

func (c *csvWriter) close() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonWriter writes one array of objects, streamed; strings are escaped as
// jsonb escapes them (contacts.AppendJSONString), as the COPY path's are.
type jsonWriter struct {
	w      *bufio.Writer
	fields []string
	n      int
	buf    []byte
}

func (j *jsonWriter) header(fields []string) error {
	j.fields = fields
	_, err := j.w.WriteString("[")
	return err
}

func (j *jsonWriter) row(cells []cell) error {
	b := j.buf[:0]
	if j.n > 0 {
		b = append(b, ',')
	}
	j.n++
	b = append(b, '\n', '{')
	for i, f := range j.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(contacts.AppendJSONString(b, f), ':')
		c := cells[i]
		switch {
		case c.null:
			b = append(b, "null"...)
		case c.raw != nil:
			b = append(b, c.raw...)
		case c.list != nil:
			b = appendJSONList(b, c.list)
		default:
			b = contacts.AppendJSONString(b, c.text())
		}
	}
	b = append(b, '}')
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

// appendJSONList appends strings as a JSON array, as to_json writes a
// text[].
func appendJSONList(b []byte, list []string) []byte {
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = contacts.AppendJSONString(b, s)
	}
	return append(b, ']')
}

func (j *jsonWriter) close() error {
	j.w.WriteString("\n]\n")
	return j.w.Flush()
}

// maxXLSXCell is the most characters an Excel cell holds.
const maxXLSXCell = 32767

// xlsxText cuts a value Excel could not hold (a custom field or a note of
// more than 32,767 characters) at that length, with an ellipsis, instead of
// writing a workbook Excel refuses to open.
func xlsxText(s string) string {
	return textcut.Runes(s, maxXLSXCell)
}
