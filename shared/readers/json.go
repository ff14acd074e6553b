package readers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/textcut"
)

// jsonReader reads a JSON array of objects, or NDJSON (objects one after
// another). Nested objects become dotted column names ("address.city");
// arrays of scalars become one comma-separated value. The file is read twice:
// first to learn every key (the header), then to yield rows.
type jsonReader struct {
	info   Info
	header []string
	index  map[string]int
	lim    Limits
	f      *os.File
	it     *jsonElements
}

func openJSON(r io.Reader, head []byte, opts Options, lim Limits) (Reader, error) {
	enc, _ := detectEncoding(head)
	f, err := spool(decoder(r, enc), opts.TempDir, "portage-*.json")
	if err != nil {
		return nil, err
	}
	j := &jsonReader{info: Info{FileType: JSON, Encoding: enc}, index: map[string]int{}, lim: lim, f: f}
	if err := j.learnHeader(); err != nil {
		f.Close()
		return nil, err
	}
	if len(j.header) == 0 {
		f.Close()
		return nil, fileErrorf("the JSON holds no objects with fields; expected an array of objects or one object per line")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	j.it, err = newJSONElements(f, lim)
	if err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

func (j *jsonReader) Info() Info         { return j.info }
func (j *jsonReader) Header() []string   { return j.header }
func (j *jsonReader) Close() error       { return j.f.Close() }
func (j *jsonReader) Sample() [][]string { return nil }

func (j *jsonReader) learnHeader() error {
	it, err := newJSONElements(j.f, j.lim)
	if err != nil {
		return err
	}
	for {
		el, err := it.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for _, kv := range el.fields {
			if _, ok := j.index[kv.key]; ok {
				continue
			}
			if len(j.header) == j.lim.MaxColumns {
				return atRow(el.n, fmt.Sprintf("the objects have more than %d distinct fields, the column limit", j.lim.MaxColumns))
			}
			if len(kv.key) > maxColumnName {
				return atRow(el.n, fmt.Sprintf("a field name is %d bytes long; a field name may be at most %d", len(kv.key), maxColumnName))
			}
			j.index[kv.key] = len(j.header)
			j.header = append(j.header, kv.key)
		}
	}
}

func (j *jsonReader) Next() (Record, error) {
	for {
		el, err := j.it.next()
		if err != nil {
			return Record{}, err
		}
		rec := Record{Row: el.n, Values: make([]string, len(j.header)), Problems: el.problems}
		for _, kv := range el.fields {
			rec.Values[j.index[kv.key]] = kv.value
		}
		if len(rec.Problems) == 0 && isBlank(rec.Values) {
			continue
		}
		rec.Problems = append(rec.Problems, cellProblems(j.header, rec.Values, j.lim, "utf-8")...)
		return rec, nil
	}
}

type jsonField struct{ key, value string }

type jsonElement struct {
	n        int
	fields   []jsonField
	problems []Problem
	keys     map[string]bool
}

// jsonElements walks the top-level elements with the token API, so one
// element at a time is in memory.
type jsonElements struct {
	f     *os.File
	dec   *json.Decoder
	utf8  *utf8Watch
	clamp *jsonClamp
	lim   Limits
	array bool
	n     int
	done  bool
}

func newJSONElements(f *os.File, lim Limits) (*jsonElements, error) {
	br := bufio.NewReader(f)
	it := &jsonElements{f: f, lim: lim}
	// encoding/json reads invalid UTF-8 in a string as U+FFFD without a
	// word: the bytes are checked on the way in, and an element holding
	// any is a row error.
	it.clamp = &jsonClamp{r: br, limit: lim.MaxCellBytes}
	it.utf8 = &utf8Watch{r: it.clamp}
	dec := json.NewDecoder(it.utf8)
	dec.UseNumber()
	it.dec = dec
	first, err := firstNonSpace(br)
	if err != nil {
		return nil, errEmpty
	}
	if first == '[' {
		it.array = true
		if _, err := dec.Token(); err != nil {
			return nil, it.wrap(err)
		}
	}
	return it, nil
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			return 0, err
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
			continue
		default:
			return c, nil
		}
	}
}

func (it *jsonElements) next() (jsonElement, error) {
	if it.done {
		return jsonElement{}, io.EOF
	}
	if !it.dec.More() {
		it.done = true
		if it.array {
			if _, err := it.dec.Token(); err != nil {
				return jsonElement{}, it.wrap(err)
			}
			if _, err := it.dec.Token(); err != io.EOF {
				return jsonElement{}, it.fail("unexpected content after the closing ]")
			}
			return jsonElement{}, io.EOF
		}
		// Between NDJSON objects, More is false at a stray } or ] too: only
		// the end of the file ends the file.
		if tok, err := it.dec.Token(); err != io.EOF {
			what := fmt.Sprint(tok)
			if err != nil {
				what = err.Error()
			}
			return jsonElement{}, it.fail(fmt.Sprintf("unexpected %q after element %d; every line must hold one whole object", what, it.n))
		}
		return jsonElement{}, io.EOF
	}
	it.n++
	el := jsonElement{n: it.n}
	start := it.dec.InputOffset()
	tok, err := it.dec.Token()
	if err != nil {
		return el, it.wrap(err)
	}
	if d, ok := tok.(json.Delim); ok && d == '{' {
		if err := it.object(&el, "", 1); err != nil {
			return el, err
		}
		end := it.dec.InputOffset()
		if it.utf8.badIn(start, end) {
			el.problems = append(el.problems, Problem{Message: "the element has bytes that are not valid utf-8; save the file as UTF-8"})
		}
		if inRange(&it.clamp.cut, start, end) {
			el.problems = append(el.problems, Problem{Message: fmt.Sprintf("a value is longer than the limit of %d bytes; it was not read", it.lim.MaxCellBytes)})
		}
		if inRange(&it.clamp.lone, start, end) {
			el.problems = append(el.problems, Problem{Message: "a string holds a lone UTF-16 surrogate escape (\\uD800–\\uDFFF without its pair), which is no character"})
		}
		return el, nil
	}
	if err := it.skip(tok); err != nil {
		return el, err
	}
	el.problems = append(el.problems, Problem{Message: fmt.Sprintf("element is %s, not an object", kindOf(tok))})
	return el, nil
}

// object reads the members of an object whose '{' was consumed.
func (it *jsonElements) object(el *jsonElement, prefix string, depth int) error {
	if depth > it.lim.MaxJSONDepth {
		return it.fail(fmt.Sprintf("element %d is nested more than %d levels deep", el.n, it.lim.MaxJSONDepth))
	}
	for it.dec.More() {
		tok, err := it.dec.Token()
		if err != nil {
			return it.wrap(err)
		}
		key := prefix + strings.TrimSpace(tok.(string))
		if el.keys == nil {
			el.keys = map[string]bool{}
		}
		if el.keys[key] {
			// Last-wins would drop a value without a word.
			el.problems = append(el.problems, Problem{Column: key, Message: fmt.Sprintf("the key %q appears twice in the object; keep one", textcut.Bytes(key, 64))})
		}
		el.keys[key] = true
		tok, err = it.dec.Token()
		if err != nil {
			return it.wrap(err)
		}
		switch v := tok.(type) {
		case json.Delim:
			if v == '{' {
				if err := it.object(el, key+".", depth+1); err != nil {
					return err
				}
				continue
			}
			joined, ok, err := it.scalarArray(depth + 1)
			if err != nil {
				return err
			}
			if !ok {
				el.problems = append(el.problems, Problem{Column: key, Message: "a list of objects or lists cannot be imported; flatten it first"})
			}
			el.fields = append(el.fields, jsonField{key, joined})
		default:
			el.fields = append(el.fields, jsonField{key, scalar(v)})
		}
	}
	_, err := it.dec.Token() // '}'
	return it.wrap(err)
}

// scalarArray reads an array whose '[' was consumed and joins its scalars.
func (it *jsonElements) scalarArray(depth int) (string, bool, error) {
	var parts []string
	ok := true
	for it.dec.More() {
		tok, err := it.dec.Token()
		if err != nil {
			return "", false, it.wrap(err)
		}
		if _, isDelim := tok.(json.Delim); isDelim {
			ok = false
			if depth > it.lim.MaxJSONDepth {
				return "", false, it.fail(fmt.Sprintf("element %d is nested more than %d levels deep", it.n, it.lim.MaxJSONDepth))
			}
			if err := it.skip(tok); err != nil {
				return "", false, err
			}
			continue
		}
		if s := scalar(tok); s != "" {
			parts = append(parts, s)
		}
	}
	_, err := it.dec.Token() // ']'
	return strings.Join(parts, ", "), ok, it.wrap(err)
}

// skip consumes the rest of a value whose first token is tok.
func (it *jsonElements) skip(tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	depth := 1
	for depth > 0 {
		t, err := it.dec.Token()
		if err != nil {
			return it.wrap(err)
		}
		if d, ok := t.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
				if depth > it.lim.MaxJSONDepth+1 {
					return it.fail(fmt.Sprintf("element %d is nested more than %d levels deep", it.n, it.lim.MaxJSONDepth))
				}
			} else {
				depth--
			}
		}
	}
	return nil
}

func scalar(tok json.Token) string {
	switch v := tok.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return ""
}

func kindOf(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			return "a list"
		}
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "not an object"
}

func (it *jsonElements) wrap(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return it.fail(fmt.Sprintf("the JSON ends in the middle of element %d; is the file truncated?", max(it.n, 1)))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return atLine(it.lineAt(se.Offset), fmt.Sprintf("invalid JSON in element %d: %s", max(it.n, 1), se.Error()))
	}
	return err
}

func (it *jsonElements) fail(msg string) error {
	return atLine(it.lineAt(it.dec.InputOffset()), msg)
}

// lineAt counts the lines up to offset; only on the error path.
func (it *jsonElements) lineAt(offset int64) int {
	sr := io.NewSectionReader(it.f, 0, offset)
	line := 1
	buf := make([]byte, 32<<10)
	for {
		n, err := sr.Read(buf)
		line += bytes.Count(buf[:n], []byte{'\n'})
		if err != nil {
			return line
		}
	}
}

// utf8Watch passes bytes through and remembers where invalid UTF-8 is.
type utf8Watch struct {
	r     io.Reader
	off   int64   // offset of the next byte read
	carry []byte  // the start of a character cut by the last read
	bad   []int64 // offsets of invalid bytes, ascending
}

func (w *utf8Watch) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	buf, base := p[:n], w.off
	if len(w.carry) > 0 {
		// Only a character cut by the last read costs a copy.
		buf, base = append(w.carry, buf...), w.off-int64(len(w.carry))
		w.carry = nil
	}
	for i := 0; i < len(buf); {
		if buf[i] < utf8.RuneSelf {
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) && err == nil {
			w.carry = append([]byte(nil), buf[i:]...)
			break
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size == 1 {
			w.bad = append(w.bad, base+int64(i))
		}
		i += size
	}
	w.off += int64(n)
	return n, err
}

// badIn reports whether an invalid byte lies in [from, to), and forgets
// those before to.
func (w *utf8Watch) badIn(from, to int64) bool {
	found := false
	k := 0
	for _, b := range w.bad {
		if b < to {
			found = found || b >= from
			k++
		}
	}
	w.bad = w.bad[k:]
	return found
}

// jsonClamp passes JSON through with every string cut at limit bytes while
// it is read (the rest of it is skipped, never held: a 300 MiB value costs
// its first 32 KiB), and notes where it cut and where a \\u escape is a lone
// UTF-16 surrogate (encoding/json would read it as U+FFFD). Offsets are in
// its output, which is what the decoder reads.
type jsonClamp struct {
	r     io.Reader
	limit int
	out   int64 // bytes given out so far
	buf   []byte

	inString  bool
	escape    int // bytes of an escape still to come (1 after '\', 4 after 'u')
	uHex      []byte
	inHex     bool
	finishing bool // the cut fell inside a character: its last bytes go out
	n         int  // bytes of the current string
	cutting   bool // past the limit: skip to the closing quote
	high      bool // the last escape was a high surrogate

	cut, lone []int64
}

func (c *jsonClamp) Read(p []byte) (int, error) {
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	for {
		n, err := c.r.Read(c.buf[:len(p)])
		w := 0
		for _, b := range c.buf[:n] {
			if c.keep(b) {
				p[w] = b
				w++
				c.out++
			}
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}

// keep decides one byte.
func (c *jsonClamp) keep(b byte) bool {
	if !c.inString {
		if b == '"' {
			c.inString, c.n, c.cutting, c.finishing = true, 0, false, false
		}
		return true
	}
	if c.escape > 0 {
		c.escape--
		switch {
		case c.inHex:
			c.uHex = append(c.uHex, b)
			if len(c.uHex) == 4 {
				c.inHex = false
				c.surrogate()
			}
		case b == 'u':
			c.inHex, c.uHex, c.escape = true, c.uHex[:0], 4
		}
		return !c.cutting
	}
	if c.high && b != '\\' {
		c.lone = append(c.lone, c.out)
		c.high = false
	}
	switch b {
	case '"':
		c.inString = false
		return true
	case '\\':
		c.escape = 1
	}
	if c.cutting {
		// A character cut in two would be invalid UTF-8: its last
		// bytes still go out.
		if c.finishing && b >= 0x80 && b < 0xC0 {
			return true
		}
		c.finishing = false
		return false
	}
	c.n++
	if c.n > c.limit {
		c.cutting = true
		c.cut = append(c.cut, c.out)
		if b >= 0x80 && b < 0xC0 {
			c.finishing = true
			return true
		}
		return false
	}
	return true
}

func (c *jsonClamp) surrogate() {
	var v int
	for _, h := range c.uHex {
		v <<= 4
		switch {
		case h >= '0' && h <= '9':
			v |= int(h - '0')
		case h >= 'a' && h <= 'f':
			v |= int(h-'a') + 10
		case h >= 'A' && h <= 'F':
			v |= int(h-'A') + 10
		}
	}
	switch {
	case v >= 0xD800 && v <= 0xDBFF:
		if c.high {
			c.lone = append(c.lone, c.out)
		}
		c.high = true
	case v >= 0xDC00 && v <= 0xDFFF:
		if !c.high {
			c.lone = append(c.lone, c.out)
		}
		c.high = false
	default:
		if c.high {
			c.lone = append(c.lone, c.out)
		}
		c.high = false
	}
}

// inRange reports whether an offset in *offs lies in [from, to), and drops
// those before to.
func inRange(offs *[]int64, from, to int64) bool {
	found, k := false, 0
	for _, o := range *offs {
		if o < to {
			found = found || o >= from
			k++
		}
	}
	*offs = (*offs)[k:]
	return found
}
