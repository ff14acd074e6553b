package readers

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"strings"
	"unicode/utf8"

	"github.com/portagehq/portage/shared/textcut"
	"golang.org/x/text/transform"
)

// candidateDelimiters in order of preference when the sample cannot tell.
var candidateDelimiters = []byte{',', ';', '\t', '|'}

type csvReader struct {
	info   Info
	header []string
	rows   sheetRows
	lim    Limits
}

func openCSV(r io.Reader, head []byte, opts Options, lim Limits) (Reader, error) {
	enc, _ := detectEncoding(head)
	info := Info{FileType: CSV, Encoding: enc, EncodingGuessed: enc == "utf-8" || enc == "windows-1252"}
	sample, _, err := transform.Bytes(transformerFor(enc), head)
	if err != nil && len(sample) == 0 {
		return nil, fileErrorf("the file's bytes cannot be decoded as %s", enc)
	}
	// Excel's "sep=;" first line names the delimiter; it is no row.
	sepLine := false
	delim := byte(',')
	if d, ok := sepDirective(sample); ok {
		delim, sepLine = d, true
	}
	switch {
	case opts.Delimiter != "":
		delim = opts.Delimiter[0]
	case !sepLine:
		delim = detectDelimiter(sample, len(head) < sniffLen)
	}
	info.Delimiter = string(delim)
	sc := newCSVScanner(decoder(r, enc), delim, lim)
	c := &csvReader{info: info, lim: lim}
	record := 0
	c.rows = sheetRows{info: &c.info, read: func() (rawRow, error) {
		cells, _, err := sc.next()
		if err != nil {
			return rawRow{}, err
		}
		record++
		var over map[int]int
		if len(sc.overlong) > 0 {
			over = maps.Clone(sc.overlong)
		}
		return rawRow{row: record, cells: cells, overlong: over, extra: sc.extra}, nil
	}}
	if sepLine {
		// Spreadsheets hide the line: it is no row of the sheet either.
		if _, _, err := sc.next(); err != nil {
			return nil, errEmpty
		}
	}
	h, err := c.rows.start(opts)
	if err != nil {
		return nil, err
	}
	// The scanner stops counting a line's fields at its cap: a header that
	// reached it has more columns than it says.
	if err := checkHeader(h.row, h.cells, lim, len(h.cells) >= sc.maxFields); err != nil {
		return nil, err
	}
	c.header = cleanHeader(trimTrailingBlank(h.cells))
	return c, nil
}

// sepDirective reads Excel's optional first line "sep=X".
func sepDirective(sample []byte) (byte, bool) {
	line := sample
	if i := bytes.IndexAny(sample, "\r\n"); i >= 0 {
		line = sample[:i]
	}
	if len(line) == 5 && bytes.EqualFold(line[:4], []byte("sep=")) {
		return line[4], true
	}
	return 0, false
}

// trimTrailingBlank drops the empty cells after a header's last name (a
// spreadsheet's stray delimiters).
func trimTrailingBlank(cells []string) []string {
	n := len(cells)
	for n > 1 && strings.TrimSpace(cells[n-1]) == "" {
		n--
	}
	return cells[:n]
}

func (c *csvReader) Info() Info         { return c.info }
func (c *csvReader) Header() []string   { return c.header }
func (c *csvReader) Close() error       { return nil }
func (c *csvReader) Sample() [][]string { return c.rows.sample() }

func (c *csvReader) Next() (Record, error) {
	r, err := c.rows.next()
	if err != nil {
		return Record{}, err
	}
	return c.record(r), nil
}

func (c *csvReader) record(raw rawRow) Record {
	rec := raw.cells
	out := Record{Row: raw.row}
	n := len(c.header)
	if len(rec) > n && isBlank(rec[n:]) {
		// Trailing empty cells (a spreadsheet's stray delimiters) are harmless.
		rec = rec[:n]
	}
	if len(rec) != n || raw.extra > 0 {
		out.Problems = append(out.Problems, Problem{
			Message: fmt.Sprintf("row has %d values but the header has %d columns", len(rec)+raw.extra, n),
		})
		padded := make([]string, n)
		copy(padded, rec)
		rec = padded
	}
	for i, length := range raw.overlong {
		if i < n {
			out.Problems = append(out.Problems, Problem{Column: c.header[i], Value: textcut.Bytes(rec[i], 64),
				Message: fmt.Sprintf("value is %d bytes long, more than the limit of %d", length, c.lim.MaxCellBytes)})
			rec[i] = ""
		}
	}
	out.Values = rec
	out.Problems = append(out.Problems, cellProblems(c.header, rec, c.lim, c.info.Encoding)...)
	return out
}

// cellProblems finds values that are too long or not valid text.
func cellProblems(header, values []string, lim Limits, enc string) []Problem {
	var ps []Problem
	for i, v := range values {
		if len(v) > lim.MaxCellBytes {
			ps = append(ps, Problem{Column: header[i], Value: textcut.Bytes(v, 64),
				Message: fmt.Sprintf("value is %d bytes long, more than the limit of %d", len(v), lim.MaxCellBytes)})
			values[i] = ""
			continue
		}
		if !utf8.ValidString(v) {
			ps = append(ps, Problem{Column: header[i], Value: string(bytes.ToValidUTF8([]byte(textcut.Bytes(v, 64)), []byte("\uFFFD"))),
				Message: fmt.Sprintf("value has bytes that are not valid %s; save the file as UTF-8", encodingName(enc))})
			values[i] = ""
		}
	}
	return ps
}

func encodingName(enc string) string {
	if enc == "utf-8-bom" {
		return "utf-8"
	}
	return enc
}

// detectDelimiter picks the candidate that splits the sample's records into
// the same number (>1) of fields most consistently. complete says the sample
// is the whole file; otherwise its last, possibly cut, record is ignored.
func detectDelimiter(sample []byte, complete bool) byte {
	best, bestScore := candidateDelimiters[0], 0
	for _, d := range candidateDelimiters {
		sc := newCSVScanner(bytes.NewReader(sample), d, DefaultLimits)
		var counts []int
		for len(counts) < 200 {
			rec, _, err := sc.next()
			if err != nil {
				break
			}
			if !isBlank(rec) {
				counts = append(counts, len(trimTrailingBlank(rec)))
			}
		}
		if !complete && len(counts) > 1 {
			counts = counts[:len(counts)-1]
		}
		// The most common width, not the first row's: notes or a title may
		// stand above the header.
		freq := map[int]int{}
		width, same := 0, 0
		for _, n := range counts {
			freq[n]++
			if freq[n] > same || freq[n] == same && n > width {
				width, same = n, freq[n]
			}
		}
		if width < 2 {
			continue
		}
		// Consistency first, then more columns; the order breaks ties.
		if score := same*1000 + width; score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}
