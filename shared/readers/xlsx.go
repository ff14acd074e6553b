package readers

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/xuri/excelize/v2"
)

type xlsxReader struct {
	info   Info
	header []string
	lim    Limits
	tmp    *os.File
	f      *excelize.File
	rows   *excelize.Rows
	row    int
	sheet  sheetRows
}

// xlsxEngine says what reads a workbook's cells.
type xlsxEngine int

const (
	// fastFirst: the fast reader (xlsxfast.go), or excelize for a workbook
	// it does not read as excelize would.
	fastFirst xlsxEngine = iota
	// excelizeOnly: excelize, the fast reader's oracle in tests.
	excelizeOnly
)

func openXLSX(r io.Reader, opts Options, lim Limits) (Reader, error) {
	return openXLSXWith(r, opts, lim, fastFirst)
}

func openXLSXWith(r io.Reader, opts Options, lim Limits, engine xlsxEngine) (Reader, error) {
	tmp, err := spool(r, opts.TempDir, "portage-*.xlsx")
	if err != nil {
		return nil, err
	}
	x, err := openSpooledXLSX(tmp, opts, lim, engine)
	if err != nil {
		tmp.Close()
		return nil, err
	}
	return x, nil
}

func openSpooledXLSX(tmp *os.File, opts Options, lim Limits, engine xlsxEngine) (Reader, error) {
	st, err := tmp.Stat()
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(tmp, st.Size())
	if err != nil {
		return nil, fileErrorf("the file is not a valid xlsx workbook (damaged zip archive: %v)", err)
	}
	if err := checkZip(zr, lim); err != nil {
		return nil, err
	}
	if engine == fastFirst {
		if fast, err := openFastXLSX(zr, tmp, opts, lim); err != errSlowPath {
			if err != nil {
				return nil, err
			}
			return fast, nil
		}
	}
	clean, err := sanitizeWorkbook(zr, workbookPart(zr), lim, opts.TempDir)
	if err != nil {
		return nil, err
	}
	tmp.Close()
	tmp = clean
	// excelize opens a path; /proc/self/fd reaches the anonymous spool file.
	f, err := excelize.OpenFile(fmt.Sprintf("/proc/self/fd/%d", tmp.Fd()), excelize.Options{
		UnzipSizeLimit:    lim.MaxUnzippedBytes,
		UnzipXMLSizeLimit: 16 << 20, // larger sheets are streamed from a temp file
		TmpDir:            opts.TempDir,
	})
	if err != nil {
		return nil, fileErrorf("the workbook cannot be opened: %v", err)
	}
	x := &xlsxReader{info: Info{FileType: XLSX, Encoding: "utf-8"}, lim: lim, tmp: tmp, f: f}
	if err := x.isoDates(); err != nil {
		f.Close()
		return nil, err
	}
	sheet, err := pickSheet(f, opts.Sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	x.info.Sheet = sheet
	if x.rows, err = f.Rows(sheet); err != nil {
		f.Close()
		return nil, fileErrorf("sheet %q cannot be read: %v", sheet, err)
	}
	x.sheet = sheetRows{info: &x.info, read: func() (rawRow, error) {
		cells, err := x.nextRow()
		return rawRow{row: x.row, cells: cells}, err
	}}
	h, err := x.sheet.start(opts)
	if err != nil {
		f.Close()
		if err == errEmpty {
			return nil, fileErrorf("sheet %q is empty", sheet)
		}
		return nil, err
	}
	if err := checkHeader(h.row, h.cells, lim, false); err != nil {
		f.Close()
		return nil, err
	}
	x.header = cleanHeader(trimTrailingBlank(h.cells))
	return x, nil
}

var (
	relTag    = regexp.MustCompile(`<(?:\w+:)?Relationship\b[^>]*>`)
	relTarget = regexp.MustCompile(`\bTarget="([^"]*)"`)
	relType   = regexp.MustCompile(`\bType="([^"]*)"`)
)

// relTargetOf reads a relationships part and returns the target of the
// first relationship whose type ends in typ, or "".
func relTargetOf(zr *zip.Reader, relsPath, typ string) string {
	for _, zf := range zr.File {
		if zf.Name != relsPath || zf.UncompressedSize64 > 1<<20 {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return ""
		}
		b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		for _, tag := range relTag.FindAllString(string(b), -1) {
			t, tg := relType.FindStringSubmatch(tag), relTarget.FindStringSubmatch(tag)
			if t != nil && tg != nil && strings.HasSuffix(t[1], typ) {
				return tg[1]
			}
		}
	}
	return ""
}

// workbookPart is where the package's relationships put the workbook
// (xl/workbook.xml unless a tool put it elsewhere).
func workbookPart(zr *zip.Reader) string {
	if t := relTargetOf(zr, "_rels/.rels", "/officeDocument"); t != "" {
		return strings.TrimPrefix(path.Clean("/"+t), "/")
	}
	return "xl/workbook.xml"
}

// sanitizeWorkbook copies the parts excelize needs to read cells into a new
// spool file, and nothing else: media, drawings, comments, macros and the
// rest are never inflated (a 1 GiB xl/media part in a 2.5 MB upload costs
// nothing). A workbook kept outside xl/ is moved there, where excelize looks
// for its strings and styles. The copy counts the bytes it inflates (a
// zip's own sizes can lie) and scans the sheets and the shared strings
// while they stream, so that no token excelize would buffer whole — a
// comment, a cell, a run of space — is longer than a cell may be, and the
// shared-string table stays within its limit.
func sanitizeWorkbook(zr *zip.Reader, book string, lim Limits, tempDir string) (*os.File, error) {
	dir := path.Dir(book) + "/"
	out, err := os.CreateTemp(tempDir, "portage-*.xlsx")
	if err != nil {
		return nil, err
	}
	os.Remove(out.Name())
	var total int64
	maxIndex, sharedStrings := -1, 0 // the highest shared-string index a cell uses, and how many there are
	fail := func(err error) (*os.File, error) {
		out.Close()
		if _, ok := apperr.As(err); ok {
			return nil, err
		}
		return nil, fileErrorf("the workbook cannot be read: %v", err)
	}
	zw := zip.NewWriter(out)
	for _, zf := range zr.File {
		name := zf.Name
		if rest, ok := strings.CutPrefix(name, dir); ok {
			name = "xl/" + rest
		}
		if !neededPart(name) {
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			return fail(err)
		}
		// Stored, not compressed again: excelize reads it back at once.
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			rc.Close()
			return fail(err)
		}
		maxPart := lim.MaxXLSXPartBytes
		if name == "xl/sharedStrings.xml" {
			maxPart = min(maxPart, lim.MaxSharedStringBytes)
		}
		guard := &partGuard{w: w, part: name, max: maxPart, total: &total, maxTotal: lim.MaxUnzippedBytes,
			maxRun: 6*lim.MaxCellBytes + 1024, cellLimit: lim.MaxCellBytes, scan: scannedPart(name),
			maxStrings: lim.MaxSharedStrings, countStrings: name == "xl/sharedStrings.xml", maxIndex: &maxIndex}
		var src io.Reader = rc
		if dir != "xl/" && (name == "_rels/.rels" || name == "[Content_Types].xml") {
			b, err := io.ReadAll(io.LimitReader(rc, 4<<20))
			if err != nil {
				rc.Close()
				return fail(err)
			}
			b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte(`"/`+dir), []byte(`"/xl/`)), []byte(`"`+dir), []byte(`"xl/`))
			src = bytes.NewReader(b)
		}
		_, err = io.Copy(guard, src)
		rc.Close()
		if err != nil {
			return fail(err)
		}
		if guard.countStrings {
			sharedStrings = guard.strings
		}
	}
	// excelize reads a cell pointing past the shared strings as empty.
	if maxIndex >= sharedStrings {
		return fail(fileErrorf("a cell refers to shared text number %d, but the workbook holds only %d; the file is damaged: open it in Excel and save it again", maxIndex, sharedStrings))
	}
	if err := zw.Close(); err != nil {
		return fail(err)
	}
	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	return out, nil
}

// neededPart: what excelize reads to give a sheet's cells.
func neededPart(name string) bool {
	switch name {
	case "[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml":
		return true
	}
	return strings.HasPrefix(name, "xl/worksheets/") && strings.HasSuffix(name, ".xml") && !strings.Contains(name, "/_rels/")
}

// scannedPart: the parts whose tokens excelize would hold whole.
func scannedPart(name string) bool {
	return name == "xl/sharedStrings.xml" || strings.HasPrefix(name, "xl/worksheets/")
}

// partGuard writes a part on while counting its bytes against the limits
// and, for sheets and shared strings, the longest run between two XML
// delimiters (a tag or comment, or text) and the shared strings (<si>).
type partGuard struct {
	w         io.Writer
	part      string
	n, max    int64
	total     *int64
	maxTotal  int64
	scan      bool
	run       int
	maxRun    int
	cellLimit int
	inTag     bool

	countStrings bool
	strings      int
	maxStrings   int
	st           int // how much of "<si" and a space or ">" has been seen

	// A cell of type "s" holds an index into the shared strings in <v>.
	tag        []byte
	sharedCell bool
	inV        bool
	v          int
	vDigits    int
	maxIndex   *int
}

func (g *partGuard) Write(p []byte) (int, error) {
	g.n += int64(len(p))
	*g.total += int64(len(p))
	if g.n > g.max {
		return 0, fileErrorf("the workbook part %q expands to more than the %s limit", g.part, humanBytes(g.max))
	}
	if *g.total > g.maxTotal {
		return 0, fileErrorf("the workbook expands to more than the %s limit", humanBytes(g.maxTotal))
	}
	if g.scan {
		for _, c := range p {
			switch c {
			case '<':
				g.run, g.inTag = 0, true
				g.tag = g.tag[:0]
			case '>':
				g.run, g.inTag = 0, false
				g.endTag()
			default:
				if g.inTag {
					if len(g.tag) < 256 {
						g.tag = append(g.tag, c)
					}
				} else if g.inV && c >= '0' && c <= '9' && g.vDigits < 10 {
					g.v = g.v*10 + int(c-'0')
					g.vDigits++
				}
				if g.run++; g.run > g.maxRun {
					if g.inTag {
						return 0, fileErrorf("the workbook part %q holds an XML tag or comment longer than %s", g.part, humanBytes(int64(g.maxRun)))
					}
					return 0, fileErrorf("a cell of the workbook (%s) holds more than %s of text", g.part, humanBytes(int64(g.cellLimit)))
				}
			}
			if g.countStrings {
				g.st = siStep(g.st, c)
				if g.st == 4 {
					g.st = 0
					if g.strings++; g.strings > g.maxStrings {
						return 0, fileErrorf("the workbook holds more than %d distinct texts (shared strings); save the sheet as CSV", g.maxStrings)
					}
				}
			}
		}
	}
	return g.w.Write(p)
}

// endTag notes, in a sheet, the shared-string index of a cell of type s.
func (g *partGuard) endTag() {
	if g.maxIndex == nil || !strings.HasPrefix(g.part, "xl/worksheets/") {
		return
	}
	t := g.tag
	switch {
	case len(t) > 0 && t[0] == 'c' && (len(t) == 1 || t[1] == ' ' || t[1] == '/'):
		g.sharedCell = bytes.Contains(t, []byte(` t="s"`))
	case string(t) == "v":
		g.inV, g.v, g.vDigits = g.sharedCell, 0, 0
	case string(t) == "/v":
		if g.inV && g.vDigits > 0 && g.v > *g.maxIndex {
			*g.maxIndex = g.v
		}
		g.inV = false
	case string(t) == "/c":
		g.sharedCell = false
	}
}

// siStep advances the matcher of "<si>" and "<si " (4: matched).
func siStep(st int, c byte) int {
	switch {
	case c == '<':
		return 1
	case st == 1 && c == 's':
		return 2
	case st == 2 && c == 'i':
		return 3
	case st == 3 && (c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
		return 4
	}
	return 0
}

// checkZip refuses damaged archives, archives that are not workbooks, and
// parts that expand beyond the limits (zip bombs), before excelize inflates
// anything.
func checkZip(zr *zip.Reader, lim Limits) error {
	var total uint64
	workbook := false
	book := workbookPart(zr)
	for _, zf := range zr.File {
		if zf.Name == book {
			workbook = true
		}
		total += zf.UncompressedSize64
		if zf.UncompressedSize64 > uint64(lim.MaxXLSXPartBytes) {
			return fileErrorf("the workbook part %q expands to %d bytes, more than the %s limit", zf.Name, zf.UncompressedSize64, humanBytes(lim.MaxXLSXPartBytes))
		}
		if zf.CompressedSize64 > 0 && zf.UncompressedSize64 > 64<<20 && zf.UncompressedSize64/zf.CompressedSize64 > 1000 {
			return fileErrorf("the workbook part %q is compressed more than 1000:1; refusing a possible zip bomb", zf.Name)
		}
	}
	if total > uint64(lim.MaxUnzippedBytes) {
		return fileErrorf("the workbook expands to %d bytes, more than the %s limit", total, humanBytes(lim.MaxUnzippedBytes))
	}
	if !workbook {
		return fileErrorf("the file is a zip archive but not an Excel workbook (no %s)", book)
	}
	if dir := path.Dir(book); book != "xl/workbook.xml" && (dir == "." || dir == "xl") {
		return fileErrorf("the workbook keeps its parts at %s, which Portage cannot read; open it in Excel or LibreOffice and save it again as .xlsx", book)
	}
	return nil
}

func pickSheet(f *excelize.File, want string) (string, error) {
	names := f.GetSheetList()
	if want != "" {
		for _, n := range names {
			if strings.EqualFold(n, want) {
				return n, nil
			}
		}
		return "", fileErrorf("the workbook has no sheet named %q; its sheets are: %s", want, strings.Join(names, ", "))
	}
	for _, n := range names {
		if visible, err := f.GetSheetVisible(n); err == nil && visible {
			return n, nil
		}
	}
	return "", fileErrorf("the workbook has no visible sheet")
}

func (x *xlsxReader) Info() Info         { return x.info }
func (x *xlsxReader) Header() []string   { return x.header }
func (x *xlsxReader) Sample() [][]string { return x.sheet.sample() }

func (x *xlsxReader) Close() error {
	if x.rows != nil {
		x.rows.Close()
	}
	err := x.f.Close()
	x.tmp.Close()
	return err
}

func (x *xlsxReader) nextRow() ([]string, error) {
	if !x.rows.Next() {
		if err := x.rows.Error(); err != nil {
			return nil, atRow(x.row+1, fmt.Sprintf("the sheet cannot be read: %v", err))
		}
		return nil, io.EOF
	}
	x.row++
	cells, err := x.rows.Columns()
	if err != nil {
		return nil, atRow(x.row, fmt.Sprintf("the row cannot be read: %v", err))
	}
	for i, c := range cells {
		cells[i] = plainNumber(c)
	}
	return cells, nil
}

func (x *xlsxReader) Next() (Record, error) {
	r, err := x.sheet.next()
	if err != nil {
		return Record{}, err
	}
	return sheetRecord(x.header, r, x.lim), nil
}

var exponentNumber = regexp.MustCompile(`^-?\d+(\.\d+)?[eE][+-]?\d+$`)

// plainNumber writes a number that a spreadsheet stored or formatted with an
// exponent (1.5551234567E+10) in full (15551234567), so that phone numbers
// and ids keep their digits.
func plainNumber(s string) string {
	if !strings.ContainsAny(s, "eE") || !exponentNumber.MatchString(s) {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// isoDates makes every date and date-time number format in the workbook
// render as ISO 8601 (2024-03-04, 2024-03-04 13:45:00), so that a date cell
// reaches mapping unambiguous whatever the author's locale or format. It
// rewrites the styles part before excelize first reads it.
func (x *xlsxReader) isoDates() error {
	const stylesPath = "xl/styles.xml" // where sanitizeWorkbook put it
	v, ok := x.f.Pkg.Load(stylesPath)
	if !ok {
		return nil
	}
	b, ok := v.([]byte)
	if !ok {
		return nil
	}
	x.f.Pkg.Store(stylesPath, []byte(rewriteDateFormats(string(b))))
	x.f.Styles = nil
	return nil
}

// Custom number format ids Portage adds for ISO dates; workbooks' own custom
// ids start at 164 and rarely go this high.
const (
	isoDateFmtID     = 4901
	isoDateTimeFmtID = 4902
)

var (
	numFmtTag    = regexp.MustCompile(`<(?:\w+:)?numFmt\b[^>]*>`)
	formatCodeAt = regexp.MustCompile(`formatCode="([^"]*)"`)
	cellXfsBlock = regexp.MustCompile(`(?s)<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>`)
	xfNumFmtID   = regexp.MustCompile(`(<(?:\w+:)?xf\b[^>]*?\bnumFmtId=")(\d+)(")`)
	numFmtsOpen  = regexp.MustCompile(`<(?:\w+:)?numFmts\b[^>]*>`)
	styleSheetOp = regexp.MustCompile(`<(?:\w+:)?styleSheet\b[^>]*>`)
)

func rewriteDateFormats(styles string) string {
	styles = numFmtTag.ReplaceAllStringFunc(styles, func(tag string) string {
		m := formatCodeAt.FindStringSubmatch(tag)
		if m == nil {
			return tag
		}
		code := xmlUnescape(m[1])
		switch dateKind(code) {
		case kindDate:
			return strings.Replace(tag, m[0], `formatCode="yyyy-mm-dd"`, 1)
		case kindDateTime:
			return strings.Replace(tag, m[0], `formatCode="yyyy-mm-dd hh:mm:ss"`, 1)
		}
		if !keepsDigits(code) {
			return strings.Replace(tag, m[0], `formatCode="General"`, 1)
		}
		return tag
	})
	used := false
	styles = cellXfsBlock.ReplaceAllStringFunc(styles, func(block string) string {
		return xfNumFmtID.ReplaceAllStringFunc(block, func(attr string) string {
			m := xfNumFmtID.FindStringSubmatch(attr)
			id, _ := strconv.Atoi(m[2])
			switch {
			case builtinDate(id):
				used = true
				return m[1] + strconv.Itoa(isoDateFmtID) + m[3]
			case id == 22:
				used = true
				return m[1] + strconv.Itoa(isoDateTimeFmtID) + m[3]
			case roundingBuiltin(id):
				return m[1] + "0" + m[3]
			}
			return attr
		})
	})
	if !used {
		return styles
	}
	ours := fmt.Sprintf(`<numFmt numFmtId="%d" formatCode="yyyy-mm-dd"/><numFmt numFmtId="%d" formatCode="yyyy-mm-dd hh:mm:ss"/>`, isoDateFmtID, isoDateTimeFmtID)
	if loc := numFmtsOpen.FindStringIndex(styles); loc != nil {
		return styles[:loc[1]] + ours + styles[loc[1]:]
	}
	if loc := styleSheetOp.FindStringIndex(styles); loc != nil {
		return styles[:loc[1]] + "<numFmts>" + ours + "</numFmts>" + styles[loc[1]:]
	}
	return styles
}

// roundingBuiltin reports the built-in number formats whose display is not
// the stored number: decimals rounded (2, 4), thousands separators (3, 4),
// currency and accounting (5–8, 37–44), percent (9, 10), scientific (11,
// 48: 15551234567 shows as 1.56E+10), fractions (12, 13). The value read is
// the stored number (General), never the display.
func roundingBuiltin(id int) bool {
	return id >= 2 && id <= 13 || id >= 37 && id <= 44 || id == 48
}

// keepsDigits reports whether a custom number format shows the stored
// number's digits as they are: text (@), General, or zero padding
// ("00000" keeps a zip code's leading zero, "000-00-0000" an id's).
// Decimals, exponents, fractions, separators, currency and percent do not.
func keepsDigits(code string) bool {
	s := strings.ToLower(formatSymbols(code))
	if s == "@" || strings.Contains(s, "general") {
		return true
	}
	return strings.Trim(s, "0-() ") == "" && strings.Contains(s, "0")
}

// formatSymbols is a number format code without its quoted text, escaped
// or padding characters and [bracketed] parts: what says how a number shows.
func formatSymbols(code string) string {
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '\\' || c == '_' || c == '*':
			i++ // the next character is literal or padding
		case c == '[':
			if j := strings.IndexByte(code[i:], ']'); j > 0 {
				i += j
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// builtinDate reports the built-in number formats that show a date without a
// time (ECMA-376 18.8.30; 27–36 and 50–58 are the East Asian date formats).
func builtinDate(id int) bool {
	return (id >= 14 && id <= 17) || (id >= 27 && id <= 31) || (id >= 34 && id <= 36) || (id >= 50 && id <= 58)
}

type formatKind int

const (
	kindOther formatKind = iota
	kindDate
	kindDateTime
)

// dateKind classifies a number format code by its unquoted letters: y or d
// means a date; with h or s too, a date-time.
func dateKind(code string) formatKind {
	var b strings.Builder
	for _, c := range []byte(formatSymbols(code)) {
		b.WriteByte(c | 0x20) // lower-case ASCII letters
	}
	s := b.String()
	if strings.Contains(s, "general") {
		return kindOther
	}
	hasDate := strings.ContainsAny(s, "yd")
	hasTime := strings.ContainsAny(s, "hs")
	switch {
	case hasDate && hasTime:
		return kindDateTime
	case hasDate:
		return kindDate
	}
	return kindOther
}

func xmlUnescape(s string) string {
	return strings.NewReplacer("&quot;", `"`, "&apos;", "'", "&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
