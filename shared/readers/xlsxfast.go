package readers

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/portagehq/portage/shared/apperr"
)

// The fast XLSX reader reads a sheet's cells straight from the workbook's
// zip with xmlScan, one pass, where excelize's Rows decodes every cell with
// encoding/xml (20× the CSV reader's time on the same rows). It gives what
// excelize gives, cell for cell (a test holds the two to it, excelize being
// the oracle), for the number formats contact files use: General, text,
// dates (rewritten to ISO by rewriteDateFormats) and zero padding. A
// workbook with any other number format in use, or laid out other than
// xl/workbook.xml, is read by excelize as before (errSlowPath). One
// difference is deliberate: a General cell's number of more than 11 digits
// keeps them all, where excelize shows 10 significant digits (a phone
// number with its country code lost its last two).

// errSlowPath says the workbook needs excelize.
var errSlowPath = errors.New("the workbook needs excelize")

type xlsxFast struct {
	info    Info
	header  []string
	lim     Limits
	tmp     *os.File
	part    io.ReadCloser
	scan    *xmlScan
	sst     sharedStrings
	formats []cellFormat
	// date1904: the workbook counts dates from 1904.
	date1904 bool
	// row is the number of the row last given; rowNum the number of the
	// row element read ahead (rowOpen), whose cells are still to read.
	row, rowNum, lastRowNum int
	rowOpen, rowEmpty       bool
	sheet                   sheetRows
	text                    []byte
}

// cellFormat is what a cell style's number format does to a number.
type cellFormat struct {
	kind formatClass
	// zeros is the zero-padding pattern (zeroPadded).
	zeros string
}

type formatClass int

const (
	asStored    formatClass = iota // the number as stored (General, text, unknown ids)
	isoDate                        // yyyy-mm-dd
	isoDateTime                    // yyyy-mm-dd hh:mm:ss
	zeroPadded                     // 00000, 000-00-0000
)

// openFastXLSX opens the sheet opts names (or the first visible one) of the
// workbook in zr, stored in tmp. It returns errSlowPath when excelize must
// read it instead.
func openFastXLSX(zr *zip.Reader, tmp *os.File, opts Options, lim Limits) (*xlsxFast, error) {
	if workbookPart(zr) != "xl/workbook.xml" {
		return nil, errSlowPath
	}
	parts := map[string]*zip.File{}
	for _, zf := range zr.File {
		parts[zf.Name] = zf
	}
	var total int64
	small := func(name string) ([]byte, error) {
		zf := parts[name]
		if zf == nil {
			return nil, nil
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fileErrorf("the workbook cannot be read: %v", err)
		}
		defer rc.Close()
		var b bytes.Buffer
		g := &partGuard{w: &b, part: name, max: lim.MaxXLSXPartBytes, total: &total, maxTotal: lim.MaxUnzippedBytes}
		if _, err := io.Copy(g, rc); err != nil {
			return nil, asFileError(err)
		}
		return b.Bytes(), nil
	}
	book, err := small("xl/workbook.xml")
	if err != nil {
		return nil, err
	}
	var wb struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
			RID   string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xml.Unmarshal(book, &wb); err != nil {
		return nil, errSlowPath
	}
	rels, err := small("xl/_rels/workbook.xml.rels")
	if err != nil {
		return nil, err
	}
	var rs struct {
		Rel []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := xml.Unmarshal(rels, &rs); err != nil {
		return nil, errSlowPath
	}
	target := map[string]string{}
	for _, r := range rs.Rel {
		t := r.Target
		if strings.HasPrefix(t, "/") {
			t = strings.TrimPrefix(path.Clean(t), "/")
		} else {
			t = path.Clean("xl/" + t)
		}
		target[r.ID] = t
	}
	x := &xlsxFast{info: Info{FileType: XLSX, Encoding: "utf-8"}, lim: lim, tmp: tmp}
	x.date1904 = wb.Pr.Date1904 == "1" || wb.Pr.Date1904 == "true"
	var names []string
	sheetPart := ""
	for _, s := range wb.Sheets {
		names = append(names, s.Name)
		visible := s.State == "" || s.State == "visible"
		if sheetPart == "" && (opts.Sheet == "" && visible || opts.Sheet != "" && strings.EqualFold(s.Name, opts.Sheet)) {
			x.info.Sheet, sheetPart = s.Name, target[s.RID]
		}
	}
	switch {
	case x.info.Sheet == "" && opts.Sheet != "":
		return nil, fileErrorf("the workbook has no sheet named %q; its sheets are: %s", opts.Sheet, strings.Join(names, ", "))
	case x.info.Sheet == "":
		return nil, fileErrorf("the workbook has no visible sheet")
	case parts[sheetPart] == nil:
		return nil, errSlowPath
	}
	styles, err := small("xl/styles.xml")
	if err != nil {
		return nil, err
	}
	if x.formats, err = cellFormats(rewriteDateFormats(string(styles))); err != nil {
		return nil, err
	}
	if err := x.readSharedStrings(parts["xl/sharedStrings.xml"], &total); err != nil {
		return nil, err
	}
	rc, err := parts[sheetPart].Open()
	if err != nil {
		return nil, fileErrorf("the workbook cannot be read: %v", err)
	}
	guard := &partGuard{w: io.Discard, part: sheetPart, max: lim.MaxXLSXPartBytes, total: &total, maxTotal: lim.MaxUnzippedBytes,
		maxRun: 6*lim.MaxCellBytes + 1024, cellLimit: lim.MaxCellBytes, scan: true}
	x.part, x.scan = rc, newXMLScan(io.TeeReader(rc, guard))
	x.sheet = sheetRows{info: &x.info, read: x.nextRow}
	h, err := x.sheet.start(opts)
	if err != nil {
		x.Close()
		if err == errEmpty {
			return nil, fileErrorf("sheet %q is empty", x.info.Sheet)
		}
		return nil, err
	}
	if err := checkHeader(h.row, h.cells, lim, false); err != nil {
		x.Close()
		return nil, err
	}
	x.header = cleanHeader(trimTrailingBlank(h.cells))
	return x, nil
}

func asFileError(err error) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	return fileErrorf("the workbook cannot be read: %v", err)
}

// cellFormats reads the number format of every cell style (cellXfs) of a
// styles part already through rewriteDateFormats, or errSlowPath for one
// this reader does not give as excelize does.
func cellFormats(styles string) ([]cellFormat, error) {
	if styles == "" {
		return nil, nil
	}
	var ss struct {
		NumFmts []struct {
			ID     int    `xml:"numFmtId,attr"`
			Code   string `xml:"formatCode,attr"`
			Code16 string `xml:"formatCode16,attr"`
		} `xml:"numFmts>numFmt"`
		Xfs []struct {
			NumFmtID *int `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
	if err := xml.Unmarshal([]byte(styles), &ss); err != nil {
		return nil, errSlowPath
	}
	custom := map[int]string{}
	for _, f := range ss.NumFmts {
		if f.Code16 != "" {
			return nil, errSlowPath
		}
		custom[f.ID] = f.Code
	}
	out := make([]cellFormat, len(ss.Xfs))
	for i, xf := range ss.Xfs {
		id := 0
		if xf.NumFmtID != nil {
			id = *xf.NumFmtID
		}
		f, ok := classify(id, custom)
		if !ok {
			return nil, errSlowPath
		}
		out[i] = f
	}
	return out, nil
}

// classify says what number format id does, among the formats this reader
// gives as excelize does.
func classify(id int, custom map[int]string) (cellFormat, bool) {
	if code, ok := custom[id]; ok {
		switch {
		case code == "yyyy-mm-dd":
			return cellFormat{kind: isoDate}, true
		case code == "yyyy-mm-dd hh:mm:ss":
			return cellFormat{kind: isoDateTime}, true
		case code == "@" || strings.EqualFold(code, "general"):
			return cellFormat{}, true
		case strings.Trim(code, "0-") == "" && strings.HasPrefix(code, "0") && strings.HasSuffix(code, "0") && !strings.Contains(code, "--"):
			return cellFormat{kind: zeroPadded, zeros: code}, true
		}
		return cellFormat{}, false
	}
	switch {
	case id == 0 || id == 49:
		return cellFormat{}, true
	case id >= 1 && id <= 22 || id >= 37 && id <= 48:
		// Built-in formats that rewriteDateFormats leaves: 0 (rounds to a
		// whole number), times, mm:ss.
		return cellFormat{}, false
	}
	// An id with no format: excelize gives the value as stored.
	return cellFormat{}, true
}

// sharedStrings holds a workbook's shared texts in one buffer: two million
// of them (the limit) as Go strings took 400 MiB, as offsets into one
// buffer they take their bytes and 4 more each.
type sharedStrings struct {
	text []byte
	ends []uint32
}

func (s *sharedStrings) add(v string) {
	s.text = append(s.text, v...)
	s.ends = append(s.ends, uint32(len(s.text)))
}

// addParts adds the text of plain then runs, its escapes decoded, without
// a string in between.
func (s *sharedStrings) addParts(plain, runs []byte) {
	if bytes.Contains(plain, []byte("_x")) || bytes.Contains(runs, []byte("_x")) || hasSplitEscape(plain, runs) {
		s.add(bstrDecode(string(plain) + string(runs)))
		return
	}
	s.text = append(append(s.text, plain...), runs...)
	s.ends = append(s.ends, uint32(len(s.text)))
}

// hasSplitEscape: an escape that begins at the end of plain and ends in
// runs ("_" then "x0041_").
func hasSplitEscape(plain, runs []byte) bool {
	return len(plain) > 0 && plain[len(plain)-1] == '_' && len(runs) > 0 && runs[0] == 'x'
}

func (s *sharedStrings) len() int { return len(s.ends) }

func (s *sharedStrings) get(i int) string {
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return string(s.text[start:s.ends[i]])
}

// readSharedStrings reads the shared strings part, each string as excelize
// gives it: its text, or its runs' texts joined, _xHHHH_ escapes decoded.
func (x *xlsxFast) readSharedStrings(zf *zip.File, total *int64) error {
	if zf == nil {
		return nil
	}
	rc, err := zf.Open()
	if err != nil {
		return fileErrorf("the workbook cannot be read: %v", err)
	}
	// A first pass only counts, through the guard: a part past the limits
	// is refused before anything of it is kept, and the second pass knows
	// how many strings to make room for.
	guard := &partGuard{w: io.Discard, part: zf.Name, max: min(x.lim.MaxXLSXPartBytes, x.lim.MaxSharedStringBytes), total: total,
		maxTotal: x.lim.MaxUnzippedBytes, maxRun: 6*x.lim.MaxCellBytes + 1024, cellLimit: x.lim.MaxCellBytes, scan: true,
		maxStrings: x.lim.MaxSharedStrings, countStrings: true}
	_, err = io.Copy(guard, rc)
	rc.Close()
	if err != nil {
		return asFileError(err)
	}
	x.sst.ends = make([]uint32, 0, guard.strings)
	if rc, err = zf.Open(); err != nil {
		return fileErrorf("the workbook cannot be read: %v", err)
	}
	defer rc.Close()
	sc := newXMLScan(rc)
	var plain, runs []byte
	var inSI, inRun, inPhonetic, inT bool
	for {
		k, err := sc.next()
		if err != nil {
			return asFileError(err)
		}
		if k == tokEOF {
			return nil
		}
		switch k {
		case tokStart, tokEmpty:
			// switch string(b) compares without allocating a string.
			switch string(sc.name) {
			case "si":
				inSI, plain, runs = true, plain[:0], runs[:0]
				if k == tokEmpty {
					x.sst.add("")
					inSI = false
				}
			case "r":
				inRun = true
			case "rPh":
				inPhonetic = k == tokStart
			case "t":
				if !inSI || inPhonetic {
					break
				}
				inT = k == tokStart
				if !inRun {
					// A later <t> of the item replaces an earlier one.
					plain = plain[:0]
				}
			}
		case tokEnd:
			switch string(sc.name) {
			case "si":
				x.sst.addParts(plain, runs)
				inSI = false
			case "r":
				inRun = false
			case "rPh":
				inPhonetic = false
			case "t":
				inT = false
			}
		case tokText:
			if inT && !inPhonetic {
				if inRun {
					runs, err = sc.appendText(runs)
				} else {
					plain, err = sc.appendText(plain)
				}
				if err != nil {
					return fileErrorf("the workbook's shared texts cannot be read: %v", err)
				}
			}
		}
	}
}

// bstrDecode decodes the _xHHHH_ escapes by which a workbook stores
// characters XML cannot hold (_x005F_ is an underscore), as excelize does:
// an escape that is no character decodes to nothing.
func bstrDecode(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "_x")
		if i < 0 || i+7 > len(s) {
			break
		}
		esc := s[i : i+7]
		if esc[6] != '_' || !isHex4(esc[2:6]) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		if n, _ := strconv.ParseUint(esc[2:6], 16, 16); esc == "_x005F_" || esc == "_x005f_" {
			b.WriteByte('_')
		} else if r := rune(n); r < 0xD800 || r > 0xDFFF {
			b.WriteRune(r)
		}
		s = s[i+7:]
	}
	b.WriteString(s)
	return b.String()
}

func isHex4(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func (x *xlsxFast) Info() Info         { return x.info }
func (x *xlsxFast) Header() []string   { return x.header }
func (x *xlsxFast) Sample() [][]string { return x.sheet.sample() }

func (x *xlsxFast) Close() error {
	x.part.Close()
	return x.tmp.Close()
}

func (x *xlsxFast) Next() (Record, error) {
	r, err := x.sheet.next()
	if err != nil {
		return Record{}, err
	}
	return sheetRecord(x.header, r, x.lim), nil
}

// sheetRecord is a sheet's row as a record of header's columns.
func sheetRecord(header []string, r rawRow, lim Limits) Record {
	cells := r.cells
	rec := Record{Row: r.row}
	n := len(header)
	if len(cells) > n && !isBlank(cells[n:]) {
		rec.Problems = append(rec.Problems, Problem{Message: fmt.Sprintf("row has values in %d columns but the header has %d", len(cells), n)})
		cells = cells[:n]
	}
	values := make([]string, n)
	copy(values, cells)
	rec.Values = values
	rec.Problems = append(rec.Problems, cellProblems(header, values, lim, "utf-8")...)
	return rec
}

// maxSheetRows is the most rows a sheet has (Excel's limit).
const maxSheetRows = 1048576

// nextRow gives the sheet's next row as excelize's Rows does: every row
// number from 1 to the last row's, a row the sheet leaves out as no cells.
func (x *xlsxFast) nextRow() (rawRow, error) {
	x.row++
	if !x.rowOpen {
		found, err := x.findRow()
		if err != nil {
			return rawRow{}, sheetError(x.row, "the sheet cannot be read", err)
		}
		if !found {
			return rawRow{}, io.EOF
		}
	}
	if x.rowNum > x.row {
		return rawRow{row: x.row}, nil
	}
	x.rowOpen = false
	if x.rowEmpty {
		return rawRow{row: x.row}, nil
	}
	cells, err := x.readCells()
	if err != nil {
		return rawRow{}, sheetError(x.row, "the row cannot be read", err)
	}
	for i, c := range cells {
		cells[i] = plainNumber(c)
	}
	return rawRow{row: x.row, cells: cells}, nil
}

// sheetError is err at row, unless it is already a problem with the file
// (a limit the guard enforced) that says so itself.
func sheetError(row int, what string, err error) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	return atRow(row, fmt.Sprintf("%s: %v", what, err))
}

// findRow reads on to the next row element.
func (x *xlsxFast) findRow() (bool, error) {
	for {
		k, err := x.scan.next()
		if err != nil || k == tokEOF {
			return false, err
		}
		switch {
		case (k == tokStart || k == tokEmpty) && string(x.scan.name) == "row":
			num := x.lastRowNum + 1
			if r, ok := x.scan.attr("r"); ok {
				n, err := strconv.Atoi(string(r))
				if err != nil {
					return false, fmt.Errorf("a row numbered %q", r)
				}
				if n > 0 {
					num = n
				}
			}
			if num > maxSheetRows {
				return false, fmt.Errorf("row %d is past the last row a sheet may have (%d)", num, maxSheetRows)
			}
			x.rowNum, x.lastRowNum, x.rowOpen, x.rowEmpty = num, num, true, k == tokEmpty
			return true, nil
		case k == tokEnd && string(x.scan.name) == "sheetData":
			return false, nil
		}
	}
}

// readCells reads the cells of the open row element.
func (x *xlsxFast) readCells() ([]string, error) {
	var cells []string
	col := 0
	for {
		k, err := x.scan.next()
		if err != nil {
			return nil, err
		}
		switch {
		case k == tokEOF:
			return nil, io.ErrUnexpectedEOF
		case k == tokEnd && string(x.scan.name) == "row":
			return cells, nil
		case (k == tokStart || k == tokEmpty) && string(x.scan.name) == "c":
			col++
			var c xlsxCell
			var ref []byte
			x.scan.eachAttr(func(key, value []byte) bool {
				switch string(key) {
				case "r":
					ref = value
				case "t":
					c.t = cellType(value)
				case "s":
					c.s, _ = strconv.Atoi(string(value))
				}
				return true
			})
			if len(ref) > 0 {
				if col, err = columnOf(ref); err != nil {
					return nil, err
				}
			}
			if k == tokStart {
				if err := x.readCell(&c); err != nil {
					return nil, err
				}
			}
			val, err := x.value(&c)
			if err != nil {
				return nil, err
			}
			if val != "" || c.formula {
				for blank := col - len(cells); blank > 1; blank-- {
					cells = append(cells, "")
				}
				cells = append(cells, val)
			}
		}
	}
}

// cellType names a cell's type without allocating for the usual ones.
func cellType(t []byte) string {
	switch string(t) {
	case "s":
		return "s"
	case "n":
		return "n"
	case "str":
		return "str"
	case "inlineStr":
		return "inlineStr"
	case "b":
		return "b"
	}
	return string(t)
}

// xlsxCell is a cell as the sheet holds it.
type xlsxCell struct {
	t       string // type: s, str, inlineStr, b, e, d, n or none
	s       int    // style
	v       string
	is      string // an inline string's text
	hasIS   bool
	formula bool
}

// readCell reads a cell's children up to its end tag.
func (x *xlsxFast) readCell(c *xlsxCell) error {
	var in string // the child element whose text is wanted: v, or t of is
	inRun, inPhonetic := false, false
	var isPlain, isRuns []byte
	x.text = x.text[:0]
	for {
		k, err := x.scan.next()
		if err != nil {
			return err
		}
		switch k {
		case tokEOF:
			return io.ErrUnexpectedEOF
		case tokStart, tokEmpty:
			switch string(x.scan.name) {
			case "v":
				if k == tokStart {
					in = "v"
				}
			case "f":
				c.formula = true
				if k == tokStart {
					in = "f"
				}
			case "is":
				c.hasIS = true
			case "r":
				inRun = true
			case "rPh":
				inPhonetic = k == tokStart
			case "t":
				if c.hasIS && !inPhonetic && k == tokStart {
					in = "t"
					if !inRun {
						isPlain = isPlain[:0]
					}
				}
			}
		case tokEnd:
			switch string(x.scan.name) {
			case "c":
				c.v = string(x.text)
				if c.hasIS {
					c.is = bstrDecode(string(isPlain) + string(isRuns))
				}
				return nil
			case "v", "f", "t":
				in = ""
			case "r":
				inRun = false
			case "rPh":
				inPhonetic = false
			}
		case tokText:
			switch {
			case in == "v":
				x.text, err = x.scan.appendText(x.text)
			case in == "t" && inRun:
				isRuns, err = x.scan.appendText(isRuns)
			case in == "t":
				isPlain, err = x.scan.appendText(isPlain)
			}
			if err != nil {
				return err
			}
		}
	}
}

// columnOf reads the column of a cell reference ("AB12" is 28).
func columnOf(ref []byte) (int, error) {
	col := 0
	for _, c := range ref {
		switch {
		case c >= 'A' && c <= 'Z':
			col = col*26 + int(c-'A') + 1
		case c >= 'a' && c <= 'z':
			col = col*26 + int(c-'a') + 1
		case c >= '0' && c <= '9':
			if col == 0 {
				return 0, fmt.Errorf("a cell reference %q without a column", ref)
			}
			if col > 16384 {
				return 0, fmt.Errorf("a cell in column %d, past the last column a sheet may have (16384)", col)
			}
			return col, nil
		default:
			return 0, fmt.Errorf("a cell reference %q", ref)
		}
	}
	return 0, fmt.Errorf("a cell reference %q without a row", ref)
}

// value is the text excelize gives for a cell.
func (x *xlsxFast) value(c *xlsxCell) (string, error) {
	switch c.t {
	case "b":
		switch c.v {
		case "1":
			return "TRUE", nil
		case "0":
			return "FALSE", nil
		}
		return c.v, nil
	case "s":
		if c.v == "" {
			return "", nil
		}
		i, err := strconv.Atoi(strings.TrimSpace(c.v))
		if err != nil || i < 0 || i >= x.sst.len() {
			return "", fileErrorf("a cell refers to shared text number %s, but the workbook holds only %d; the file is damaged: open it in Excel and save it again", strings.TrimSpace(c.v), x.sst.len())
		}
		return x.sst.get(i), nil
	case "str":
		return c.v, nil
	case "inlineStr":
		if c.hasIS {
			return c.is, nil
		}
		return c.v, nil
	case "d":
		return x.number(c.s, dateCellSerial(c.v)), nil
	}
	return x.number(c.s, storedNumber(c.v)), nil
}

// storedNumber is a number cell's value as excelize gives it before its
// format: at most 15 significant digits (Excel's), unless the digits past
// them are the zeros of a whole number.
func storedNumber(v string) string {
	if strings.Contains(v, "_") {
		return v
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	plain := strconv.FormatFloat(f, 'f', -1, 64)
	digits := len(plain) - strings.Count(plain, ".")
	if digits > 15 && !wholeWithin15(v) {
		return strconv.FormatFloat(f, 'G', 15, 64)
	}
	return plain
}

// wholeWithin15: an integer whose digits past the 15th are zeros.
func wholeWithin15(v string) bool {
	if strings.ContainsAny(v, ".Ee") {
		return false
	}
	v = strings.TrimLeft(v, "+-0")
	return len(strings.TrimRight(v, "0")) <= 15
}

// dateCellSerial turns a date cell's ISO 8601 value into the serial number
// a date is stored as; a value it cannot read stays as it is.
func dateCellSerial(v string) string {
	layout := "20060102T150405.999"
	if strings.HasSuffix(v, "Z") {
		layout = "20060102T150405Z"
		if strings.Contains(v, "-") {
			layout = "2006-01-02T15:04:05Z"
		}
	} else if strings.Contains(v, "-") {
		layout = "2006-01-02 15:04:05Z"
	}
	t, err := time.Parse(layout, strings.ReplaceAll(v, ",", "."))
	if err != nil {
		return v
	}
	days := t.Sub(time.Date(1899, time.December, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24
	if t.Before(time.Date(1900, time.March, 1, 0, 0, 0, 0, time.UTC)) {
		days-- // Excel's serials count a 29 February 1900 that never was
	}
	return strconv.FormatFloat(days, 'G', 15, 64)
}

// number formats a number cell's stored value v with its style's format.
func (x *xlsxFast) number(style int, v string) string {
	if style <= 0 || style >= len(x.formats) {
		return v
	}
	f := x.formats[style]
	if f.kind == asStored || strings.Contains(v, "_") {
		return v
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return v
	}
	switch f.kind {
	case isoDate, isoDateTime:
		if n < 0 {
			return v
		}
		t := serialTime(n, x.date1904)
		day := t.Format("2006-01-02")
		if !x.date1904 && n < 61 {
			day = early1900Day(int(n))
		}
		if f.kind == isoDate {
			return day
		}
		return day + t.Format(" 15:04:05")
	case zeroPadded:
		return padDigits(n, f.zeros)
	}
	return v
}

// serialTime is the time a date serial stands for, to the second, as
// excelize renders it: days from 30 December 1899 (1 January 1904 in the
// 1904 system), the fraction of a day rounded to the nearest second.
func serialTime(n float64, date1904 bool) time.Time {
	epoch := time.Date(1899, time.December, 30, 0, 0, 0, 0, time.UTC)
	if date1904 {
		epoch = time.Date(1904, time.January, 1, 0, 0, 0, 0, time.UTC)
	}
	days := math.Floor(n)
	frac := n - days
	t := epoch.AddDate(0, 0, int(days)).Add(time.Duration(frac*float64(24*time.Hour) + 1e-9*float64(24*time.Hour)))
	if t.Nanosecond() > 500*int(time.Millisecond) {
		return t.Round(time.Second)
	}
	return t.Truncate(time.Second)
}

// early1900Day is the day of a serial before 61 (1 March 1900) as Excel
// shows it, counting the 29 February 1900 that never was: 0 is 1900-01-00,
// 1 is 1900-01-01, 60 is 1900-02-29.
func early1900Day(days int) string {
	switch {
	case days == 0:
		return "1900-01-00"
	case days == 60:
		return "1900-02-29"
	}
	return time.Date(1899, time.December, 31, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days).Format("2006-01-02")
}

// padDigits writes n rounded to a whole number into a pattern of zeros and
// dashes ("00000" gives 02134, "000-00-0000" 123-45-6789); digits beyond
// the pattern's stand before it.
func padDigits(n float64, pattern string) string {
	neg := n < 0
	digits := strconv.FormatFloat(math.Round(math.Abs(n)), 'f', 0, 64)
	slots := strings.Count(pattern, "0")
	if len(digits) < slots {
		digits = strings.Repeat("0", slots-len(digits)) + digits
	}
	var out []byte
	d := len(digits) - 1
	for i := len(pattern) - 1; i >= 0; i-- {
		if pattern[i] == '0' {
			out = append(out, digits[d])
			d--
		} else {
			out = append(out, pattern[i])
		}
	}
	for ; d >= 0; d-- {
		out = append(out, digits[d])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
