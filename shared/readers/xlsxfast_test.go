package readers

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// readAll reads every record and the header of an xlsx file with engine.
func readAll(t *testing.T, data []byte, engine xlsxEngine, opts Options) (Info, []string, []Record, error) {
	t.Helper()
	opts.TempDir = t.TempDir()
	r, err := openXLSXWith(bytes.NewReader(data), opts, opts.Limits.withDefaults(), engine)
	if err != nil {
		return Info{}, nil, nil, err
	}
	defer r.Close()
	var recs []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return r.Info(), r.Header(), recs, nil
		}
		if err != nil {
			return r.Info(), r.Header(), recs, err
		}
		recs = append(recs, rec)
	}
}

// expectSameAsExcelize reads data with both engines and fails on any
// difference: header, rows, values, problems, what was skipped.
func expectSameAsExcelize(t *testing.T, data []byte, opts Options) {
	t.Helper()
	fi, fh, fr, ferr := readAll(t, data, fastFirst, opts)
	si, sh, sr, serr := readAll(t, data, excelizeOnly, opts)
	if fmt.Sprint(ferr) != fmt.Sprint(serr) {
		t.Fatalf("errors differ:\n fast:     %v\n excelize: %v", ferr, serr)
	}
	if fmt.Sprint(fi) != fmt.Sprint(si) || fmt.Sprint(fh) != fmt.Sprint(sh) {
		t.Fatalf("info or header differ:\n fast:     %+v %q\n excelize: %+v %q", fi, fh, si, sh)
	}
	if len(fr) != len(sr) {
		t.Fatalf("fast read %d records, excelize %d", len(fr), len(sr))
	}
	for i := range fr {
		for j := range fr[i].Values {
			if j < len(sr[i].Values) && keptWhole(fr[i].Values[j], sr[i].Values[j]) {
				sr[i].Values[j] = fr[i].Values[j]
			}
		}
		if fmt.Sprintf("%d %q %v", fr[i].Row, fr[i].Values, fr[i].Problems) != fmt.Sprintf("%d %q %v", sr[i].Row, sr[i].Values, sr[i].Problems) {
			t.Errorf("record %d differs:\n fast:     %d %q %v\n excelize: %d %q %v", i, fr[i].Row, fr[i].Values, fr[i].Problems, sr[i].Row, sr[i].Values, sr[i].Problems)
		}
	}
}

// keptWhole reports the one difference the fast reader means to make: a
// number of more than 11 digits in a styled General cell, which excelize
// shows to 10 significant digits, it gives whole.
func keptWhole(fast, excel string) bool {
	n, err := strconv.ParseFloat(fast, 64)
	if err != nil || fast == excel || len(strings.Trim(strings.ReplaceAll(fast, ".", ""), "-0")) <= 11 {
		return false
	}
	return plainNumber(strconv.FormatFloat(n, 'G', 10, 64)) == excel
}

// TestFastXLSXReadsAsExcelize holds the fast reader to excelize, cell for
// cell, on the committed workbooks and on one that holds every kind of cell
// and number format the fast reader takes on.
func TestFastXLSXReadsAsExcelize(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xlsx"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			expectSameAsExcelize(t, data, Options{})
		})
	}
	t.Run("EveryKindOfCell", func(t *testing.T) {
		t.Parallel()
		expectSameAsExcelize(t, everyKindOfCell(t, false), Options{})
	})
	t.Run("Dates1904", func(t *testing.T) {
		t.Parallel()
		expectSameAsExcelize(t, everyKindOfCell(t, true), Options{})
	})
	t.Run("NamedSheet", func(t *testing.T) {
		t.Parallel()
		data := everyKindOfCell(t, false)
		expectSameAsExcelize(t, data, Options{Sheet: "second"})
		expectSameAsExcelize(t, data, Options{Sheet: "nope"})
	})
}

// everyKindOfCell builds a workbook with shared, inline and rich strings,
// escapes, line breaks, numbers of every length, booleans, errors,
// formulas, dates in built-in and custom formats, zero-padded and text
// formats, and gaps between rows and between cells.
func everyKindOfCell(t *testing.T, date1904 bool) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if date1904 {
		if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &date1904}); err != nil {
			t.Fatal(err)
		}
	}
	sheet := "Sheet1"
	style := func(s excelize.Style) int {
		id, err := f.NewStyle(&s)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	custom := func(code string) int { return style(excelize.Style{CustomNumFmt: &code}) }
	builtin := func(id int) int { return style(excelize.Style{NumFmt: id}) }
	styles := []struct {
		name string
		id   int
	}{
		{"none", 0}, {"general", builtin(0)}, {"text", builtin(49)}, {"date14", builtin(14)}, {"datetime22", builtin(22)},
		{"decimals2", builtin(2)}, {"thousands3", builtin(3)}, {"percent9", builtin(9)}, {"scientific11", builtin(11)},
		{"dd/mm/yyyy", custom("dd/mm/yyyy")}, {"m/d/yy h:mm", custom("m/d/yy h:mm")}, {"zip", custom("00000")},
		{"ssn", custom("000-00-0000")}, {"at", custom("@")}, {"customGeneral", custom("General")}, {"money", custom(`"$"#,##0.00`)},
	}
	values := []any{
		0, 1, -1, 42, 2134, 2134.6, 2134.5, 0.5, 0.1 + 0.2, 3.14159265358979, 15551234567, 447911123456, 12345678901234567,
		1e-7, 1.5e10, -44927.25, 44927, 44927.5, 44927.999994, 45000.000006, 60, 61, 62, 1, 2958465, "text", "  spaced  ",
		"a & b < c", "line\r\nbreak", "tab\there", "_x000D_ literal", "ünïcödé ✓", true, false,
	}
	if date1904 {
		// excelize counts the 1904 system's first 61 days from 1900
		// (0 shows as 1900-01-00, 42 as 1904-02-13); the fast reader, as
		// Excel does, from 1 January 1904. No contact was born then.
		values = slices.DeleteFunc(values, func(v any) bool {
			n, ok := v.(int)
			return ok && n >= 0 && n < 61 || v == 0.5 || v == 0.1+0.2 || v == 3.14159265358979 || v == 1e-7
		})
	}
	row := 1
	header := []any{"style"}
	for i := range values {
		header = append(header, fmt.Sprintf("v%d", i))
	}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		t.Fatal(err)
	}
	for _, s := range styles {
		row++
		if s.name == "date14" {
			row += 2 // a gap of two rows
		}
		cells := append([]any{s.name}, values...)
		cell, _ := excelize.CoordinatesToCellName(1, row)
		if err := f.SetSheetRow(sheet, cell, &cells); err != nil {
			t.Fatal(err)
		}
		for c := 2; c <= len(cells); c++ {
			ref, _ := excelize.CoordinatesToCellName(c, row)
			if err := f.SetCellStyle(sheet, ref, ref, s.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Formulas, with and without a cached value; an error; rich text; an
	// inline string; cells with gaps between them.
	row += 2
	set := func(col int, fn func(ref string) error) {
		ref, _ := excelize.CoordinatesToCellName(col, row)
		if err := fn(ref); err != nil {
			t.Fatal(err)
		}
	}
	set(1, func(ref string) error { return f.SetCellStr(sheet, ref, "specials") })
	set(2, func(ref string) error { return f.SetCellFormula(sheet, ref, "1+1") })
	set(4, func(ref string) error { return f.SetCellFormula(sheet, ref, `"x"&"y"`) })
	set(5, func(ref string) error {
		return f.SetCellRichText(sheet, ref, []excelize.RichTextRun{{Text: "bold "}, {Text: "plain", Font: &excelize.Font{Bold: true}}})
	})
	set(9, func(ref string) error { return f.SetCellStr(sheet, ref, "after a gap") })
	if _, err := f.NewSheet("second"); err != nil {
		t.Fatal(err)
	}
	if err := f.SetSheetRow("second", "A1", &[]any{"email", "n"}); err != nil {
		t.Fatal(err)
	}
	if err := f.SetSheetRow("second", "A2", &[]any{"a@example.com", 3}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	// excelize writes shared strings; an inline string, an error cell and
	// a number with an exponent come from other tools.
	return withSheetEdits(t, b.Bytes(), func(sheet string) string {
		extra := `<row r="40"><c r="A40" t="inlineStr"><is><t>inline</t></is></c><c r="B40" t="e"><v>#N/A</v></c>` +
			`<c r="C40"><v>1.5551234567E+10</v></c><c r="D40" t="inlineStr"><is><r><t>rich </t></r><r><t>inline</t></r></is></c>` +
			`<c r="E40" t="str"><v>formula text</v></c><c r="F40" t="b"><v>1</v></c><c r="G40"><v>  7  </v></c></row>`
		return strings.Replace(sheet, "</sheetData>", extra+"</sheetData>", 1)
	})
}

// withSheetEdits rewrites the first sheet's XML of a workbook.
func withSheetEdits(t *testing.T, data []byte, edit func(string) string) []byte {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, ok := f.Pkg.Load("xl/worksheets/sheet1.xml")
	if !ok {
		t.Fatal("no sheet1.xml")
	}
	f.Pkg.Store("xl/worksheets/sheet1.xml", []byte(edit(string(v.([]byte)))))
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The fast reader keeps every digit of a long number in a General cell,
// where excelize shows ten significant digits: a phone number with its
// country code stays whole.
func TestFastXLSXKeepsLongNumbersWhole(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	general, _ := f.NewStyle(&excelize.Style{NumFmt: 0})
	f.SetSheetRow("Sheet1", "A1", &[]any{"email", "phone"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"a@example.com", 447911123456})
	f.SetCellStyle("Sheet1", "B2", "B2", general)
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	_, _, recs, err := readAll(t, b.Bytes(), fastFirst, Options{})
	if err != nil || len(recs) != 1 || recs[0].Values[1] != "447911123456" {
		t.Fatalf("%v, %v", recs, err)
	}
}

// A workbook with a number format the fast reader does not give as
// excelize does goes to excelize, whole.
func TestFastXLSXLeavesOtherFormatsToExcelize(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	whole, _ := f.NewStyle(&excelize.Style{NumFmt: 1}) // "0": rounds
	f.SetSheetRow("Sheet1", "A1", &[]any{"email", "n"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"a@example.com", 2.6})
	f.SetCellStyle("Sheet1", "B2", "B2", whole)
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	r, err := openXLSXWith(bytes.NewReader(b.Bytes()), Options{TempDir: t.TempDir()}, Limits{}.withDefaults(), fastFirst)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*xlsxReader); !ok {
		t.Fatalf("read by %T, want excelize's reader", r)
	}
	expectSameAsExcelize(t, b.Bytes(), Options{})
}

// padDigits and serialTime against excelize on values around their edges.
func TestFastXLSXFormatsMatchExcelize(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	zip, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("00000")})
	ssn, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("000-00-0000")})
	date, _ := f.NewStyle(&excelize.Style{CustomNumFmt: ptr("yyyy-mm-dd hh:mm:ss")})
	for i, v := range []float64{0, 0.4, 0.5, 1.5, 2.5, 99999.5, 123456, 1234567890, -12, 61, 62, 3000.123456, 45000.9999999, 45000.00000578, 2958465.99999} {
		row := i + 1
		for col, s := range []int{zip, ssn, date} {
			ref, _ := excelize.CoordinatesToCellName(col+1, row)
			f.SetCellFloat("Sheet1", ref, v, -1, 64)
			f.SetCellStyle("Sheet1", ref, ref, s)
			want, _ := f.GetCellValue("Sheet1", ref)
			var got string
			switch s {
			case zip:
				got = padDigits(v, "00000")
			case ssn:
				got = padDigits(v, "000-00-0000")
			default:
				if v < 0 {
					continue
				}
				got = serialTime(v, false).Format("2006-01-02 15:04:05")
			}
			if got != want && !(s == date && v < 61) {
				t.Errorf("%v in style %d: got %q, excelize %q", v, s, got, want)
			}
		}
	}
	_ = math.Pi
}

func ptr[T any](v T) *T { return &v }
