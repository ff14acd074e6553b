package exporter

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// xlsxWriter writes a workbook as it goes: each sheet's XML is streamed
// into its zip entry, deflated at the fastest level, and the workbook's
// other parts (which name the sheets) are written at the end. Strings are
// inline string cells, never formulas; timestamps are numbers with a date
// style; a custom field holding a JSON number or boolean is that type. The
// header is bold and frozen. It does per cell what a spreadsheet needs and
// no more: a general-purpose library's per-cell work was most of an
// export's time.
type xlsxWriter struct {
	zw    *zip.Writer
	sheet *bufio.Writer
	// A sheet holds at most sheetRows rows, the header included; the
	// contacts go on in sheets "Contacts 2", "Contacts 3", …
	sheetRows int
	sheets    int
	rowNum    int
	head      []string
	cols      []string // column letters: A, B, …, AA, …
	line      []byte
}

// The cell styles of xlStyles: the header's and the timestamps'.
const (
	xlsxHeaderStyle = "1"
	xlsxDateStyle   = "2"
	// xlsxMaxRows is a sheet's row limit.
	xlsxMaxRows = 1_048_576
)

func newXLSXWriter(out io.Writer) *xlsxWriter {
	zw := zip.NewWriter(out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	return &xlsxWriter{zw: zw, sheetRows: xlsxMaxRows}
}

func (x *xlsxWriter) header(fields []string) error {
	x.head = fields
	x.cols = make([]string, len(fields))
	for i := range fields {
		x.cols[i] = columnName(i)
	}
	return x.startSheet()
}

// columnName is the letters of the i-th column (0: A, 26: AA).
func columnName(i int) string {
	name := ""
	for i++; i > 0; i = (i - 1) / 26 {
		name = string(rune('A'+(i-1)%26)) + name
	}
	return name
}

func (x *xlsxWriter) startSheet() error {
	x.sheets++
	w, err := x.zw.Create(fmt.Sprintf("xl/worksheets/sheet%d.xml", x.sheets))
	if err != nil {
		return err
	}
	x.sheet = bufio.NewWriterSize(w, 64<<10)
	x.sheet.WriteString(xml + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
		`<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>` +
		`<sheetData>`)
	x.rowNum = 1
	b := append(x.line[:0], `<row r="1">`...)
	for i, f := range x.head {
		b = x.appendString(b, i, f, xlsxHeaderStyle)
	}
	b = append(b, `</row>`...)
	x.line = b
	_, err = x.sheet.Write(b)
	return err
}

func (x *xlsxWriter) endSheet() error {
	x.sheet.WriteString(`</sheetData></worksheet>`)
	return x.sheet.Flush()
}

func (x *xlsxWriter) row(cells []cell) error {
	if x.rowNum >= x.sheetRows {
		if err := x.endSheet(); err != nil {
			return err
		}
		if err := x.startSheet(); err != nil {
			return err
		}
	}
	x.rowNum++
	r := strconv.Itoa(x.rowNum)
	b := append(x.line[:0], `<row r="`...)
	b = append(b, r...)
	b = append(b, `">`...)
	for i, c := range cells {
		switch {
		case c.null:
		case c.t != nil:
			b = x.appendCellStart(b, i, r, "n", xlsxDateStyle)
			b = strconv.AppendFloat(b, excelSerial(*c.t), 'f', -1, 64)
			b = append(b, `</v></c>`...)
		case c.raw != nil:
			var v any
			if json.Unmarshal(c.raw, &v) == nil {
				switch t := v.(type) {
				case float64:
					b = x.appendCellStart(b, i, r, "n", "")
					b = strconv.AppendFloat(b, t, 'f', -1, 64)
					b = append(b, `</v></c>`...)
					continue
				case bool:
					b = x.appendCellStart(b, i, r, "b", "")
					if t {
						b = append(b, '1')
					} else {
						b = append(b, '0')
					}
					b = append(b, `</v></c>`...)
					continue
				}
			}
			b = x.appendStringAt(b, i, r, c.text(), "")
		default:
			b = x.appendStringAt(b, i, r, c.text(), "")
		}
	}
	b = append(b, `</row>`...)
	x.line = b
	_, err := x.sheet.Write(b)
	return err
}

// appendCellStart opens a value cell: <c r="B7" t="…" s="…"><v>.
func (x *xlsxWriter) appendCellStart(b []byte, col int, row, typ, style string) []byte {
	b = append(b, `<c r="`...)
	b = append(b, x.cols[col]...)
	b = append(b, row...)
	b = append(b, '"')
	if typ != "" {
		b = append(b, ` t="`...)
		b = append(b, typ...)
		b = append(b, '"')
	}
	if style != "" {
		b = append(b, ` s="`...)
		b = append(b, style...)
		b = append(b, '"')
	}
	return append(b, `><v>`...)
}

func (x *xlsxWriter) appendString(b []byte, col int, s, style string) []byte {
	return x.appendStringAt(b, col, strconv.Itoa(x.rowNum), s, style)
}

// appendStringAt writes an inline string cell: the text cut to what a cell
// holds, XML-escaped, characters XML cannot carry dropped.
func (x *xlsxWriter) appendStringAt(b []byte, col int, row, s, style string) []byte {
	b = append(b, `<c r="`...)
	b = append(b, x.cols[col]...)
	b = append(b, row...)
	b = append(b, `" t="inlineStr"`...)
	if style != "" {
		b = append(b, ` s="`...)
		b = append(b, style...)
		b = append(b, '"')
	}
	b = append(b, `><is><t xml:space="preserve">`...)
	b = appendXMLText(b, xlsxText(s))
	return append(b, `</t></is></c>`...)
}

// appendXMLText escapes &, < and >, and drops the control characters XML
// 1.0 cannot hold (all but tab, LF and CR); invalid UTF-8 becomes U+FFFD.
func appendXMLText(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '&' && c != '<' && c != '>' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				if r != 0xFFFE && r != 0xFFFF {
					i += size
					continue
				}
			}
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...)
			i += size
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '\t', '\n', '\r':
			b = append(b, c)
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}

// excelSerial is a time as Excel's serial date: days since 1899-12-30, in
// UTC, to the microsecond.
func excelSerial(t time.Time) float64 {
	const secondsPerDay = 86400
	const unixEpochSerial = 25569 // 1970-01-01
	us := t.UTC().UnixMicro()
	return float64(unixEpochSerial) + float64(us)/(secondsPerDay*1e6)
}

func (x *xlsxWriter) close() error {
	if err := x.endSheet(); err != nil {
		return err
	}
	var sheets, rels, overrides string
	for i := 1; i <= x.sheets; i++ {
		name := "Contacts"
		if i > 1 {
			name = fmt.Sprintf("Contacts %d", i)
		}
		sheets += fmt.Sprintf(`<sheet name="%s" sheetId="%d" r:id="rId%d"/>`, name, i, i)
		rels += fmt.Sprintf(`<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet%d.xml"/>`, i, i)
		overrides += fmt.Sprintf(`<Override PartName="/xl/worksheets/sheet%d.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`, i)
	}
	rels += fmt.Sprintf(`<Relationship Id="rId%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>`, x.sheets+1)
	parts := []struct{ name, body string }{
		{"[Content_Types].xml", xml + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>` +
			overrides + `</Types>`},
		{"_rels/.rels", xml + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", xml + `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets>` + sheets + `</sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", xml + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` + rels + `</Relationships>`},
		{"xl/styles.xml", xlStyles},
	}
	for _, p := range parts {
		w, err := x.zw.Create(p.name)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, p.body); err != nil {
			return err
		}
	}
	return x.zw.Close()
}

const xml = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"

// xlStyles: cell style 1 is the header (bold, light blue), 2 a timestamp
// (yyyy-mm-dd hh:mm:ss).
const xlStyles = xml + `<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
	`<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>` +
	`<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>` +
	`<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>` +
	`<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/><bgColor indexed="64"/></patternFill></fill></fills>` +
	`<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>` +
	`<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>` +
	`<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>` +
	`<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>` +
	`<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>` +
	`<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>`
