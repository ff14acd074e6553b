package readers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

// candidateDelimiters in order of preference when the sample cannot tell.
var candidateDelimiters = []rune{',', ';', '\t', '|'}

type csvReader struct {
	info   Info
	header []string
	r      *csv.Reader
	lim    Limits
	row    int
}

func openCSV(r io.Reader, head []byte, opts Options, lim Limits) (Reader, error) {
	enc, _ := detectEncoding(head)
	info := Info{FileType: CSV, Encoding: enc}
	sample, _, err := transform.Bytes(transformerFor(enc), head)
	if err != nil && len(sample) == 0 {
		return nil, fileErrorf("the file's bytes cannot be decoded as %s", enc)
	}
	delim := ','
	if opts.Delimiter != "" {
		delim = []rune(opts.Delimiter)[0]
	} else {
		delim = detectDelimiter(sample, len(head) < sniffLen)
	}
	info.Delimiter = string(delim)

	cr := csv.NewReader(&lineGuard{r: decoder(r, enc), max: lim.MaxLineBytes, line: 1})
	cr.Comma = delim
	cr.FieldsPerRecord = -1
	c := &csvReader{info: info, r: cr, lim: lim}
	rec, err := c.read()
	if err == io.EOF {
		return nil, fileErrorf("the file is empty")
	}
	if err != nil {
		return nil, err
	}
	c.row = 1
	if len(rec) > lim.MaxColumns {
		return nil, fileErrorf("the header has %d columns, more than the limit of %d", len(rec), lim.MaxColumns)
	}
	c.header = cleanHeader(rec)
	return c, nil
}

func (c *csvReader) Info() Info       { return c.info }
func (c *csvReader) Header() []string { return c.header }
func (c *csvReader) Close() error     { return nil }

func (c *csvReader) Next() (Record, error) {
	for {
		rec, err := c.read()
		if err != nil {
			return Record{}, err
		}
		c.row++
		if isBlank(rec) {
			continue
		}
		return c.record(rec), nil
	}
}

func (c *csvReader) record(rec []string) Record {
	out := Record{Row: c.row}
	n := len(c.header)
	if len(rec) > n && isBlank(rec[n:]) {
		// Trailing empty cells (a spreadsheet's stray delimiters) are harmless.
		rec = rec[:n]
	}
	if len(rec) != n {
		out.Problems = append(out.Problems, Problem{
			Message: fmt.Sprintf("row has %d values but the header has %d columns", len(rec), n),
		})
		padded := make([]string, n)
		copy(padded, rec)
		rec = padded
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
			ps = append(ps, Problem{Column: header[i], Value: truncate(v, 64),
				Message: fmt.Sprintf("value is %d bytes long, more than the limit of %d", len(v), lim.MaxCellBytes)})
			values[i] = ""
			continue
		}
		if !utf8.ValidString(v) {
			ps = append(ps, Problem{Column: header[i], Value: string(bytes.ToValidUTF8([]byte(truncate(v, 64)), []byte("\uFFFD"))),
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

// truncate shortens s to at most n bytes for messages, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func (c *csvReader) read() ([]string, error) {
	rec, err := c.r.Read()
	if err == nil || err == io.EOF {
		return rec, err
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return nil, fe
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrQuote) && pe.StartLine != pe.Line:
			return nil, &FileError{Line: pe.StartLine, Msg: "a quoted value starting here is never closed (unbalanced quotes)"}
		case errors.Is(pe.Err, csv.ErrQuote):
			return nil, &FileError{Line: pe.Line, Msg: fmt.Sprintf("column %d: unexpected character after a closing quote (unbalanced quotes)", pe.Column)}
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return nil, &FileError{Line: pe.Line, Msg: fmt.Sprintf("column %d: a quote (\") inside an unquoted value; quote the whole value and double the inner quotes", pe.Column)}
		}
		return nil, &FileError{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return nil, err
}

// detectDelimiter picks the candidate that splits the sample's lines into
// the same number (>1) of fields most consistently. complete says the sample
// is the whole file; otherwise its last, possibly cut, record is ignored.
func detectDelimiter(sample []byte, complete bool) rune {
	best, bestScore := candidateDelimiters[0], 0
	for _, d := range candidateDelimiters {
		r := csv.NewReader(bytes.NewReader(sample))
		r.Comma = d
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		var counts []int
		for len(counts) < 200 {
			rec, err := r.Read()
			if err != nil {
				break
			}
			counts = append(counts, len(rec))
		}
		if !complete && len(counts) > 1 {
			counts = counts[:len(counts)-1]
		}
		if len(counts) == 0 {
			continue
		}
		first, same := counts[0], 0
		for _, n := range counts {
			if n == first {
				same++
			}
		}
		if first < 2 {
			continue
		}
		// Consistency first, then more columns; the order breaks ties.
		score := same*1000 + first
		if score > bestScore {
			best, bestScore = d, score
		}
	}
	return best
}

// lineGuard fails when one line is longer than max bytes, so that a file with
// no line breaks cannot make the CSV parser buffer it whole. It also counts
// lines for messages.
type lineGuard struct {
	r    io.Reader
	max  int
	cur  int
	line int
}

func (g *lineGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for _, b := range p[:n] {
		if b == '\n' {
			g.line++
			g.cur = 0
			continue
		}
		g.cur++
		if g.cur > g.max {
			return 0, &FileError{Line: g.line, Msg: fmt.Sprintf("the line is longer than %s; is this really a CSV file?", humanBytes(int64(g.max)))}
		}
	}
	return n, err
}
