package readers

import (
	"errors"
	"io"
	"regexp"
	"strings"

	"github.com/portagehq/portage/shared/textcut"
)

// rawRow is one row of a sheet (a CSV record or an XLSX row) before it is
// fitted to the header.
type rawRow struct {
	row   int
	cells []string
	// overlong maps a cell's index to its real length when the CSV scanner
	// cut it at the cell limit; extra counts the values it dropped past the
	// most a record may hold.
	overlong map[int]int
	extra    int
}

// Skipped is a row of the file that is neither the header nor a contact:
// notes, a title or an "exported on" line above the header, or a report's
// footer (totals, copyright) after the data.
type Skipped struct {
	Row  int    `json:"row"`
	Text string `json:"text"`
	Why  string `json:"why"`
}

// headerLookahead is how many rows are read before the header is chosen.
const headerLookahead = 30

// sheetRows turns a sheet's raw rows into a header and data rows: it finds
// the row that looks like the header, skips what stands above it, and keeps
// a report's footer from being read as contacts.
type sheetRows struct {
	read  func() (rawRow, error)
	queue []rawRow
	// err is what read returned after the queued rows (io.EOF, or damage
	// further down), given once they have been read.
	err error
	// held are footer-like rows not yet known to be the footer: they are
	// given back as rows if a contact follows them.
	held  []rawRow
	flush bool
	info  *Info
}

// maxLeadingBlank is how many blank rows may stand before a file's first
// row with anything in it; past it the file is taken for empty.
const maxLeadingBlank = 10_000

// start reads ahead and returns the header row. Blank rows before the
// first row with anything in it are passed over without counting toward
// the look-ahead: 30 blank lines above the header used to make a file
// "empty" and lose its rows.
func (s *sheetRows) start(opts Options) (rawRow, error) {
	blank := 0
	for len(s.queue) < headerLookahead {
		r, err := s.read()
		if err != nil {
			if len(s.queue) == 0 && !errors.Is(err, io.EOF) {
				return rawRow{}, err
			}
			s.err = err
			break
		}
		if len(s.queue) == 0 && isBlank(r.cells) {
			if blank++; blank <= maxLeadingBlank {
				continue
			}
		}
		s.queue = append(s.queue, r)
	}
	if allBlank(s.queue) {
		if s.err != nil && !errors.Is(s.err, io.EOF) {
			return rawRow{}, s.err
		}
		return rawRow{}, errEmpty
	}
	at := -1
	if opts.HeaderRow > 0 {
		for i, r := range s.queue {
			if r.row == opts.HeaderRow && !isBlank(r.cells) {
				at = i
			}
		}
		if at < 0 {
			return rawRow{}, fileErrorf("import_options.header_row %d is not a row with column names among the first %d rows of the file", opts.HeaderRow, headerLookahead)
		}
	} else {
		at = pickHeader(s.queue, opts.KnownHeader)
	}
	for _, r := range s.queue[:at] {
		if !isBlank(r.cells) {
			s.info.Skipped = append(s.info.Skipped, Skipped{Row: r.row, Text: rowText(r.cells), Why: "above the header"})
		}
	}
	header := s.queue[at]
	s.queue = s.queue[at+1:]
	s.info.HeaderRow = header.row
	return header, nil
}

func allBlank(rows []rawRow) bool {
	for _, r := range rows {
		if !isBlank(r.cells) {
			return false
		}
	}
	return true
}

// pickHeader chooses the header among the rows read ahead. The first
// non-blank row is the header, as spreadsheets have it, unless it is plainly
// not one and a later row plainly is: a lone title or a "Notes:" paragraph
// above the real column names, as LinkedIn's and Excel reports' exports
// have. A row plainly is a header when it names columns that map to contact
// fields, or, without that knowledge, when its cells all look like labels
// and the rows under it are as wide.
func pickHeader(rows []rawRow, known func(string) bool) int {
	first := -1
	for i, r := range rows {
		if !isBlank(r.cells) {
			first = i
			break
		}
	}
	firstScore := headerScore(rows, first, known)
	best, bestScore := first, firstScore
	for i := first + 1; i < len(rows); i++ {
		if sc := headerScore(rows, i, known); sc > bestScore {
			best, bestScore = i, sc
		}
	}
	// Keep the first row unless the best is clearly better: it has more
	// known names, or the first row is a lone cell (a title, "Notes:").
	if best != first && (knownCount(rows[best].cells, known) > knownCount(rows[first].cells, known) ||
		nonBlank(rows[first].cells) <= 1 && nonBlank(rows[best].cells) >= 2 && bestScore > firstScore) {
		return best
	}
	return first
}

func headerScore(rows []rawRow, i int, known func(string) bool) int {
	cells := rows[i].cells
	n := nonBlank(cells)
	if n == 0 {
		return -1
	}
	score := 10*knownCount(cells, known) + 2*n
	labels := 0
	for _, c := range cells {
		if c = strings.TrimSpace(c); c != "" && looksLikeLabel(c) {
			labels++
		}
	}
	if labels == n {
		score += 5
	}
	if n == 1 && strings.HasSuffix(strings.TrimSpace(firstNonBlank(cells)), ":") {
		score -= 10 // "Notes:"
	}
	// Rows under a header are about as wide as it is.
	for _, r := range rows[i+1 : min(len(rows), i+6)] {
		if m := nonBlank(r.cells); m >= 2 && m*2 >= n && m <= n*2 {
			score += 3
		}
	}
	return score
}

func knownCount(cells []string, known func(string) bool) int {
	if known == nil {
		return 0
	}
	k := 0
	for _, c := range cells {
		if c = strings.TrimSpace(c); c != "" && known(c) {
			k++
		}
	}
	return k
}

var numberLike = regexp.MustCompile(`^[-+()\d\s./:,]+$`)

// looksLikeLabel: short text that is not an address, a number or a date.
func looksLikeLabel(s string) bool {
	return len(s) <= 64 && !strings.Contains(s, "@") && !numberLike.MatchString(s)
}

func nonBlank(cells []string) int {
	n := 0
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}

func firstNonBlank(cells []string) string {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return c
		}
	}
	return ""
}

func rowText(cells []string) string {
	var parts []string
	for _, c := range cells {
		if c = strings.TrimSpace(c); c != "" {
			parts = append(parts, c)
		}
	}
	return textcut.Bytes(strings.Join(parts, " | "), 200)
}

// footerLine is the first cell of a report's footer row: Salesforce's
// "Grand Totals (3 records)", copyright and confidentiality lines,
// "Generated by", an Excel sheet's "Total" row.
var footerLine = regexp.MustCompile(`(?i)^((grand\s+)?totals?\b|\(?\d+\s+records?\)?$|copyright\b|©|\(c\)\s|confidential\b|generated\s+(by|on|at)\b|exported\s+(by|on|at)\b|report\s+(generated|run)\b|count\s*:)`)

// footerLike: at most two non-blank cells, no address, and (for the first
// of a footer) a footer line in the first one.
func footerLike(cells []string, first bool) bool {
	filled := 0
	for _, c := range cells {
		if c != "" && strings.TrimSpace(c) != "" {
			if filled++; filled > 2 {
				return false
			}
		}
	}
	for _, c := range cells {
		if strings.Contains(c, "@") {
			return false
		}
	}
	return !first || footerLine.MatchString(strings.TrimSpace(firstNonBlank(cells)))
}

// next returns the next non-blank data row. Rows that look like a
// report's footer are held back until a real row follows them (then they
// are rows after all) or the file ends (then they are skipped, and
// reported in Info.Skipped).
func (s *sheetRows) next() (rawRow, error) {
	for {
		if len(s.held) > 0 && s.flush {
			r := s.held[0]
			s.held = s.held[1:]
			if len(s.held) == 0 {
				s.flush = false
			}
			return r, nil
		}
		r, err := s.pull()
		if err != nil {
			if errors.Is(err, io.EOF) {
				for _, h := range s.held {
					s.info.Skipped = append(s.info.Skipped, Skipped{Row: h.row, Text: rowText(h.cells), Why: "footer after the data"})
				}
				s.held = nil
			}
			return rawRow{}, err
		}
		if isBlank(r.cells) {
			continue
		}
		if footerLike(r.cells, len(s.held) == 0) {
			s.held = append(s.held, r)
			continue
		}
		if len(s.held) > 0 {
			// Not a footer after all: give the held rows back first.
			s.held = append(s.held, r)
			s.flush = true
			continue
		}
		return r, nil
	}
}

func (s *sheetRows) pull() (rawRow, error) {
	if len(s.queue) > 0 {
		r := s.queue[0]
		s.queue = s.queue[1:]
		return r, nil
	}
	if s.err != nil {
		return rawRow{}, s.err
	}
	return s.read()
}

// sample is the cells of the rows read ahead.
func (s *sheetRows) sample() [][]string {
	var out [][]string
	for _, r := range s.queue {
		if !isBlank(r.cells) {
			out = append(out, r.cells)
		}
	}
	return out
}
