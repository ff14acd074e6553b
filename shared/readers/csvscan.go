package readers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvScanner splits delimited text into records the way spreadsheets read
// it (RFC 4180 and what Excel, Google Sheets, Python's csv and Papa Parse
// accept beyond it), without encoding/csv's changes to the bytes:
//
//   - A value that starts with a quote is quoted: it ends at a quote that is
//     not doubled ("" stands for one quote), and holds delimiters and line
//     breaks byte for byte (a CR LF inside stays CR LF).
//   - A quote anywhere else is an ordinary character: Robert "Bob" Smith,
//     5'11", 37°36'37.8"N.
//   - Lines end in LF, CR LF or a lone CR (old Mac Excel's "CSV (Macintosh)").
//   - After a closing quote only a delimiter or a line end may follow;
//     anything else, and a quoted value still open at the end of the file,
//     is damage that could merge rows, and a file-level error.
//
// Memory is bounded by the limits, not by the file: a value keeps at most
// maxCell+1 bytes (its real length is reported in overlong), a record at
// most maxFields values, and a line outside quotes at most maxLine bytes.
type csvScanner struct {
	src   io.Reader
	buf   []byte
	pos   int
	end   int
	eof   bool
	delim byte

	maxCell, maxLine, maxFields int

	// line is the physical line of the next byte (1-based).
	line int
	// rec holds the current record's bytes, ends where each value ends.
	rec  []byte
	ends []int
	// overlong maps a value's index to its real length when it was cut.
	overlong map[int]int
	extra    int // values past maxFields, counted and dropped
}

func newCSVScanner(r io.Reader, delim byte, lim Limits) *csvScanner {
	return &csvScanner{src: r, buf: make([]byte, 64<<10), delim: delim, line: 1,
		maxCell: lim.MaxCellBytes, maxLine: lim.MaxLineBytes, maxFields: 4*lim.MaxColumns + 16}
}

// peek returns the next byte without consuming it; ok is false at the end.
func (s *csvScanner) peek() (byte, bool, error) {
	if s.pos == s.end {
		if s.eof {
			return 0, false, nil
		}
		n, err := io.ReadFull(s.src, s.buf)
		s.pos, s.end = 0, n
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			s.eof = true
		} else if err != nil {
			return 0, false, err
		}
		if n == 0 {
			return 0, false, nil
		}
	}
	return s.buf[s.pos], true, nil
}

// take appends span to the value being read, keeping at most maxCell+1
// bytes of it; n is the value's length so far.
func (s *csvScanner) take(span []byte, n int) {
	if room := s.maxCell + 1 - n; room > 0 {
		s.rec = append(s.rec, span[:min(len(span), room)]...)
	}
}

// fill makes sure a byte is buffered; false at the end of the input.
func (s *csvScanner) fill() (bool, error) {
	if s.pos < s.end {
		return true, nil
	}
	_, ok, err := s.peek()
	return ok, err
}

// next reads one record. It returns the values, the line the record starts
// on, and io.EOF when no record is left.
func (s *csvScanner) next() ([]string, int, error) {
	s.rec, s.ends, s.extra = s.rec[:0], s.ends[:0], 0
	clear(s.overlong)
	startLine := s.line
	if ok, err := s.fill(); err != nil {
		return nil, 0, err
	} else if !ok {
		return nil, 0, io.EOF
	}
	lineLen := 0
	for {
		// One value.
		start := len(s.rec)
		n := 0 // the value's real length
		ok, err := s.fill()
		if err != nil {
			return nil, 0, err
		}
		if ok && s.buf[s.pos] == '"' {
			s.pos++
			openLine := s.line
			crPending := false // a CR ended the last span: a line unless a LF follows
			for {
				ok, err := s.fill()
				if err != nil {
					return nil, 0, err
				}
				if !ok {
					return nil, 0, atLine(openLine, "a quoted value starting here is never closed (unbalanced quotes)")
				}
				chunk := s.buf[s.pos:s.end]
				q := bytes.IndexByte(chunk, '"')
				span := chunk
				if q >= 0 {
					span = chunk[:q]
				}
				if crPending && (len(span) == 0 || span[0] != '\n') {
					s.line++
				}
				crPending = false
				s.line += countLines(span)
				if len(span) > 0 && span[len(span)-1] == '\r' {
					s.line-- // counted as lone; decided by what follows
					crPending = true
				}
				s.take(span, n)
				n += len(span)
				s.pos += len(span)
				if q < 0 {
					continue
				}
				if crPending {
					s.line++
					crPending = false
				}
				s.pos++ // the quote
				ok, err = s.fill()
				if err != nil {
					return nil, 0, err
				}
				if ok && s.buf[s.pos] == '"' {
					s.pos++
					s.take([]byte{'"'}, n)
					n++
					continue
				}
				break
			}
			lineLen = 0
			// After the closing quote: a delimiter, a line end or the end.
			ok, err = s.fill()
			if err != nil {
				return nil, 0, err
			}
			if c := s.buf[s.pos]; ok && c != s.delim && c != '\n' && c != '\r' {
				where := ""
				if s.line != openLine {
					where = fmt.Sprintf(" (the value opened on line %d)", openLine)
				}
				return nil, 0, atLine(s.line, fmt.Sprintf(
					"unexpected %q right after the closing quote of a quoted value%s; a quote inside a quoted value must be doubled (\"\")", c, where))
			}
		} else {
			for ok {
				chunk := s.buf[s.pos:s.end]
				i := 0
				for i < len(chunk) && chunk[i] != s.delim && chunk[i] != '\n' && chunk[i] != '\r' {
					i++
				}
				s.take(chunk[:i], n)
				n += i
				lineLen += i
				s.pos += i
				if lineLen > s.maxLine {
					return nil, 0, atLine(s.line, fmt.Sprintf("the line is longer than %s; is this really a CSV file?", humanBytes(int64(s.maxLine))))
				}
				if i < len(chunk) {
					break
				}
				if ok, err = s.fill(); err != nil {
					return nil, 0, err
				}
			}
		}
		if len(s.ends) < s.maxFields {
			if n > s.maxCell {
				if s.overlong == nil {
					s.overlong = map[int]int{}
				}
				s.overlong[len(s.ends)] = n
			}
			s.ends = append(s.ends, len(s.rec))
		} else {
			s.rec = s.rec[:start]
			s.extra++
		}
		// What ends the value: a delimiter (another value follows), a line
		// end or the end of the file (the record is complete).
		ok, err = s.fill()
		if err != nil {
			return nil, 0, err
		}
		if ok && s.buf[s.pos] == s.delim {
			s.pos++
			lineLen++
			continue
		}
		if ok {
			c := s.buf[s.pos]
			s.pos++
			if c == '\r' && s.followedByLF() {
				s.pos++
			}
			s.line++
		}
		break
	}
	text := string(s.rec)
	out := make([]string, len(s.ends))
	from := 0
	for i, e := range s.ends {
		out[i] = text[from:e]
		from = e
	}
	return out, startLine, nil
}

// countLines counts the line ends in b: LF, CR LF, and a lone CR.
func countLines(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	if bytes.IndexByte(b, '\r') < 0 {
		return n
	}
	for i, c := range b {
		if c == '\r' && (i+1 == len(b) || b[i+1] != '\n') {
			n++
		}
	}
	return n
}

// followedByLF reports whether the next byte is a LF (after a CR).
func (s *csvScanner) followedByLF() bool {
	c, ok, err := s.peek()
	return err == nil && ok && c == '\n'
}
