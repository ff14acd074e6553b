package readers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/portagehq/portage/shared/apperr"
	"golang.org/x/text/transform"
)

// FileType is the kind of file: csv, xlsx, json or vcf.
type FileType string

// The file types Portage reads.
const (
	CSV  FileType = "csv"
	XLSX FileType = "xlsx"
	JSON FileType = "json"
	// VCF is vCard (.vcf): iPhone, macOS and iCloud Contacts, Outlook's
	// and Google's single-contact exports.
	VCF FileType = "vcf"
)

// Info is what was detected about a file.
type Info struct {
	FileType FileType `json:"file_type"`
	// Encoding is utf-8, utf-8-bom, utf-16le, utf-16be or windows-1252.
	Encoding string `json:"encoding"`
	// Delimiter is the CSV field separator; empty for other types.
	Delimiter string `json:"delimiter"`
	// Sheet is the XLSX sheet read; empty for other types.
	Sheet string `json:"sheet,omitempty"`
	// EncodingGuessed says the encoding was inferred from the bytes (no
	// byte order mark declared it): worth a look in a preview.
	EncodingGuessed bool `json:"encoding_guessed,omitempty"`
	// HeaderRow is the row the column names were read from (1 unless
	// notes or a title stand above them).
	HeaderRow int `json:"header_row,omitempty"`
	// Skipped lists the rows that are neither the header nor contacts:
	// those above the header as soon as the reader opens, a report's footer
	// once the rows have been read to the end.
	Skipped []Skipped `json:"skipped,omitempty"`
}

// Record is one data row.
type Record struct {
	// Row is where a person finds the row: the spreadsheet row number for CSV
	// and XLSX (the header is row 1), the 1-based element number for JSON.
	Row int
	// Values has one entry per header column ("" when absent).
	Values []string
	// Problems are row-level defects; a row with any is a row error, never a
	// reason to stop reading the file.
	Problems []Problem
}

// Problem is a row-level defect, in the shape of a row error.
type Problem struct {
	Column  string
	Value   string
	Message string
}

// Reader streams the rows of one file. It is not safe for concurrent use.
type Reader interface {
	Info() Info
	// Header returns the column names, in file order, unique and non-empty.
	Header() []string
	// Next returns the next non-blank row, io.EOF after the last, or a
	// an apperr.Invalid error when the file is structurally damaged.
	Next() (Record, error)
	// Sample returns the values of the rows read ahead of Next (up to
	// about 30 after the header, blank ones left out) without consuming
	// them: evidence for the mapping. JSON files give none.
	Sample() [][]string
	Close() error
}

// A file-level error (the file cannot be read further) is an
// apperr.Invalid error: its message is safe to show to the person who
// uploaded the file, and names the line (CSV, NDJSON, vCard) or row (XLSX,
// JSON element) where it was found, which its details also hold.

// errEmpty is the error of a file (or sheet) with nothing in it.
var errEmpty = apperr.Invalidf("the file is empty")

func fileErrorf(format string, args ...any) *apperr.Error {
	return apperr.Invalidf(format, args...)
}

func atLine(line int, msg string) *apperr.Error {
	return apperr.Invalidf("line %d: %s", line, msg).WithDetail("line", line)
}

func atRow(row int, msg string) *apperr.Error {
	return apperr.Invalidf("row %d: %s", row, msg).WithDetail("row", row)
}

// Limits bound what a file may contain. Zero fields take the defaults
// documented on DefaultLimits.
type Limits struct {
	MaxFileBytes     int64 // size of the uploaded file
	MaxColumns       int   // columns in the header
	MaxCellBytes     int   // one value, after decoding; longer is a row error
	MaxLineBytes     int   // one CSV line; protects memory from a file with no line breaks
	MaxUnzippedBytes int64 // an XLSX's parts, expanded
	MaxXLSXPartBytes int64 // one XLSX part, expanded
	MaxJSONDepth     int   // nesting of objects in one JSON element
	MaxSharedStrings int   // distinct texts of an XLSX (its shared-string table)
	// MaxSharedStringBytes bounds the shared-string table expanded:
	// excelize holds it in memory whole.
	MaxSharedStringBytes int64
}

// DefaultLimits are the limits used where Limits leaves a field zero.
var DefaultLimits = Limits{
	MaxFileBytes:     1 << 30,
	MaxColumns:       500,
	MaxCellBytes:     32 << 10,
	MaxLineBytes:     8 << 20,
	MaxUnzippedBytes: 4 << 30,
	MaxXLSXPartBytes: 2 << 30,
	MaxJSONDepth:     16,
	MaxSharedStrings: 2_000_000,
	// Held in memory at about three times its size.
	MaxSharedStringBytes: 256 << 20,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxFileBytes > 0 {
		d.MaxFileBytes = l.MaxFileBytes
	}
	if l.MaxColumns > 0 {
		d.MaxColumns = l.MaxColumns
	}
	if l.MaxCellBytes > 0 {
		d.MaxCellBytes = l.MaxCellBytes
	}
	if l.MaxLineBytes > 0 {
		d.MaxLineBytes = l.MaxLineBytes
	}
	if l.MaxUnzippedBytes > 0 {
		d.MaxUnzippedBytes = l.MaxUnzippedBytes
	}
	if l.MaxSharedStringBytes > 0 {
		d.MaxSharedStringBytes = l.MaxSharedStringBytes
	}
	if l.MaxSharedStrings > 0 {
		d.MaxSharedStrings = l.MaxSharedStrings
	}
	if l.MaxXLSXPartBytes > 0 {
		d.MaxXLSXPartBytes = l.MaxXLSXPartBytes
	}
	if l.MaxJSONDepth > 0 {
		d.MaxJSONDepth = l.MaxJSONDepth
	}
	return d
}

// Options tune Open. The zero value detects everything.
type Options struct {
	// Type, when set, is the type the caller declared (from the request or the
	// file name); a file whose content is of another type is refused.
	Type FileType
	// Sheet names the XLSX sheet to read; default: the first visible one.
	Sheet string
	// Delimiter forces the CSV delimiter; default: detected.
	Delimiter string
	// HeaderRow forces the row the column names are on (CSV and XLSX, the
	// row number a spreadsheet shows); default: the row that looks like the
	// header among the first 30.
	HeaderRow int
	// KnownHeader, when set, says whether a cell names a contact field (the
	// mapping's knowledge); it makes the header row easier to find.
	KnownHeader func(string) bool
	Limits      Limits
	// TempDir holds spooled XLSX and JSON files; default os.TempDir().
	TempDir string
}

// TypeFromName returns the file type a file name's extension declares, or ""
// when the extension is not one Portage knows.
func TypeFromName(name string) FileType {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".tsv", ".txt":
		return CSV
	case ".xlsx", ".xlsm":
		return XLSX
	case ".json", ".ndjson", ".jsonl":
		return JSON
	case ".vcf", ".vcard":
		return VCF
	}
	return ""
}

// ParseFileType validates a declared file type.
func ParseFileType(s string) (FileType, error) {
	switch t := FileType(strings.ToLower(s)); t {
	case CSV, XLSX, JSON, VCF:
		return t, nil
	}
	return "", fileErrorf("unknown file type %q: use csv, xlsx, json or vcf", s)
}

// Open detects the type of the file in r and returns a reader positioned at
// its first data row. name is the uploaded file's name, used only for
// messages and its extension. The caller must Close the reader.
func Open(r io.Reader, name string, opts Options) (Reader, error) {
	lim := opts.Limits.withDefaults()
	src := &limitedReader{r: r, max: lim.MaxFileBytes}
	br := bufio.NewReaderSize(src, 64<<10)
	head, err := br.Peek(sniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if len(head) == 0 {
		return nil, errEmpty
	}
	detected, err := sniffType(head)
	if err != nil {
		return nil, err
	}
	declared := opts.Type
	if declared == "" {
		declared = TypeFromName(name)
		if declared == "" && filepath.Ext(name) != "" {
			return nil, fileErrorf("%q: unsupported file type %q; upload a .csv, .xlsx, .json or .vcf file", name, filepath.Ext(name))
		}
	}
	if declared == JSON && detected == CSV {
		if t := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf"); len(t) > 0 && strings.IndexByte(`[{"`, t[0]) >= 0 {
			return nil, fileErrorf("%q is JSON but not an array of objects nor one object per line; expected [{\"email\": …}, …]", name)
		}
	}
	if declared != "" && declared != detected {
		return nil, fileErrorf("%q was declared as %s but its content is %s; check the file's extension or the file_type", name, declared, describe(detected))
	}
	switch detected {
	case XLSX:
		return openXLSX(br, opts, lim)
	case JSON:
		return openJSON(br, head, opts, lim)
	case VCF:
		enc, _ := detectEncoding(head)
		return openVCard(br, enc, lim)
	default:
		return openCSV(br, head, opts, lim)
	}
}

const sniffLen = 64 << 10

func describe(t FileType) string {
	switch t {
	case XLSX:
		return "an Excel workbook (xlsx)"
	case JSON:
		return "JSON"
	case VCF:
		return "vCard (vcf)"
	}
	return "delimited text (csv)"
}

var (
	zipMagic = []byte("PK\x03\x04")
	oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// sniffType decides the type from the first bytes, never from the name.
func sniffType(head []byte) (FileType, error) {
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return XLSX, nil
	case bytes.HasPrefix(head, oleMagic):
		return "", fileErrorf("this is a legacy Excel (.xls) or encrypted workbook; save it as .xlsx or .csv and upload again")
	case bytes.HasPrefix(head, []byte("%PDF")):
		return "", fileErrorf("this is a PDF document, not a contact file; upload a .csv, .xlsx, .json or .vcf file")
	}
	enc, body := detectEncoding(head)
	if enc == "binary" {
		return "", fileErrorf("the file is binary, not text; upload a .csv, .xlsx, .json or .vcf file")
	}
	if text, _, err := transform.Bytes(transformerFor(enc), body); err == nil || len(text) > 0 {
		if looksLikeJSON(text) {
			return JSON, nil
		}
		if t := bytes.TrimLeft(text, " \t\r\n"); len(t) >= 11 && bytes.EqualFold(t[:11], []byte("BEGIN:VCARD")) {
			return VCF, nil
		}
	}
	return CSV, nil
}

// looksLikeJSON: an array of objects ("[" then "{" or "]") or an object
// ("{" then a key), so that a CSV whose first header is "[Email]" stays CSV.
func looksLikeJSON(text []byte) bool {
	t := bytes.TrimLeft(text, " \t\r\n")
	if len(t) < 2 {
		return false
	}
	rest := bytes.TrimLeft(t[1:], " \t\r\n")
	if len(rest) == 0 {
		return false
	}
	switch t[0] {
	case '[':
		return rest[0] == '{' || rest[0] == ']'
	case '{':
		return rest[0] == '"' || rest[0] == '}'
	}
	return false
}

// limitedReader fails, rather than truncating, past max bytes.
type limitedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fileErrorf("the file is larger than the %s limit", humanBytes(l.max))
	}
	return n, err
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// spool copies r to a new temporary file and returns it rewound.
func spool(r io.Reader, dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	// The file is anonymous from here on: it vanishes when closed.
	os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// maxColumnName is the longest column name a header may hold: a cell
// longer than this is no column name, and would make every job that
// remembers its mapping, and the list of jobs, that much larger.
const maxColumnName = 1024

// checkHeader refuses a header of more columns than the limit or with a
// name longer than maxColumnName, with the row it is on. capped says the
// reader stopped counting cells at len(cells).
func checkHeader(row int, cells []string, lim Limits, capped bool) error {
	switch {
	case capped:
		return atRow(row, fmt.Sprintf("the header has more than %d columns, more than the limit of %d", len(cells), lim.MaxColumns))
	case len(cells) > lim.MaxColumns:
		return atRow(row, fmt.Sprintf("the header has %d columns, more than the limit of %d", len(cells), lim.MaxColumns))
	}
	for i, c := range cells {
		if len(c) > maxColumnName {
			return atRow(row, fmt.Sprintf("the name of column %d is longer than %d bytes, the most a column name may be: is this the header row?", i+1, maxColumnName))
		}
	}
	return nil
}

// cleanHeader makes column names usable: trimmed, blanks named by position,
// repeats suffixed, so that every column can be mapped by name.
func cleanHeader(raw []string) []string {
	out := make([]string, len(raw))
	seen := make(map[string]int, len(raw))
	for i, h := range raw {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if h == "" {
			h = fmt.Sprintf("column %d", i+1)
		}
		key := strings.ToLower(h)
		if n := seen[key]; n > 0 {
			seen[key] = n + 1
			h = fmt.Sprintf("%s (%d)", h, n+1)
		} else {
			seen[key] = 1
		}
		out[i] = h
	}
	return out
}

func isBlank(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}
