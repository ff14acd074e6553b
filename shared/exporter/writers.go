package exporter

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/formula"
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

func newWriter(format string, w io.Writer, formulaSafe bool, tempDir string) (writer, error) {
	switch format {
	case "csv":
		// Records end in CRLF; line breaks inside values stay as they are
		// (encoding/csv's UseCRLF would rewrite them too).
		return &csvWriter{w: csv.NewWriter(&csvRewriter{w: w, fieldStart: true}), out: w, safe: formulaSafe}, nil
	case "json":
		return &jsonWriter{w: bufio.NewWriterSize(w, 64<<10)}, nil
	case "xlsx":
		return newXLSXWriter(w, tempDir)
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

// xlsxWriter streams rows into excelize's StreamWriter (which spills to a
// temporary file) and writes the workbook at the end. Strings are always
// string cells, never formulas; timestamps are date cells.
type xlsxWriter struct {
	out     io.Writer
	f       *excelize.File
	sw      *excelize.StreamWriter
	vals    []any // a row's values, reused
	rowNum  int
	dateSty int
	// A sheet holds at most sheetRows rows, the header included; the
	// contacts go on in sheets "Contacts 2", "Contacts 3", …
	sheetRows int
	sheets    int
	headCells []any
}

func newXLSXWriter(out io.Writer, tempDir string) (*xlsxWriter, error) {
	f := excelize.NewFile(excelize.Options{TmpDir: tempDir})
	// The workbook is deflated at the fastest level: compressing the sheet
	// at the default level was a third of an export's time, for files a
	// little smaller.
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(w)
		zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(out, flate.BestSpeed)
		})
		return zw
	})
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return nil, err
	}
	dateFmt := "yyyy-mm-dd hh:mm:ss"
	sty, err := f.NewStyle(&excelize.Style{CustomNumFmt: &dateFmt})
	if err != nil {
		return nil, err
	}
	f.SetSheetName("Sheet1", "Contacts")
	return &xlsxWriter{out: out, f: f, sw: sw, dateSty: sty, sheetRows: excelize.TotalRows, sheets: 1}, nil
}

func (x *xlsxWriter) header(fields []string) error {
	bold, err := x.f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return err
	}
	x.headCells = make([]any, len(fields))
	for i, f := range fields {
		x.headCells[i] = excelize.Cell{StyleID: bold, Value: f}
	}
	return x.writeHeader()
}

func (x *xlsxWriter) writeHeader() error {
	x.rowNum = 1
	if err := x.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return x.sw.SetRow("A1", x.headCells)
}

// nextSheet ends the full sheet and starts the next, header first.
func (x *xlsxWriter) nextSheet() error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	x.sheets++
	name := fmt.Sprintf("Contacts %d", x.sheets)
	if _, err := x.f.NewSheet(name); err != nil {
		return err
	}
	sw, err := x.f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	x.sw = sw
	return x.writeHeader()
}

// maxXLSXCell is the most characters an Excel cell holds.
const maxXLSXCell = 32767

// xlsxText cuts a value Excel could not hold (a custom field or a note of
// more than 32,767 characters) at that length, with an ellipsis, instead of
// writing a workbook Excel refuses to open.
func xlsxText(s string) string {
	if len(s) <= maxXLSXCell {
		return s
	}
	if r := []rune(s); len(r) > maxXLSXCell {
		return string(r[:maxXLSXCell-1]) + "…"
	}
	return s
}

func (x *xlsxWriter) row(cells []cell) error {
	if x.rowNum >= x.sheetRows {
		if err := x.nextSheet(); err != nil {
			return err
		}
	}
	x.rowNum++
	if len(x.vals) != len(cells) {
		x.vals = make([]any, len(cells))
	}
	vals := x.vals
	for i, c := range cells {
		switch {
		case c.null:
			vals[i] = nil
		case c.t != nil:
			vals[i] = excelize.Cell{StyleID: x.dateSty, Value: c.t.UTC()}
		case c.raw != nil:
			var v any
			if json.Unmarshal(c.raw, &v) == nil {
				switch t := v.(type) {
				case float64, bool:
					vals[i] = t
					continue
				}
			}
			vals[i] = xlsxText(c.text())
		default:
			vals[i] = xlsxText(c.text())
		}
	}
	cellName, _ := excelize.CoordinatesToCellName(1, x.rowNum)
	return x.sw.SetRow(cellName, vals)
}

func (x *xlsxWriter) close() error {
	if err := x.sw.Flush(); err != nil {
		return err
	}
	_, err := x.f.WriteTo(x.out)
	if cerr := x.f.Close(); err == nil {
		err = cerr
	}
	return err
}
