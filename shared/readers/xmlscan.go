package readers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlScan is a pull tokenizer for the parts of a workbook that hold its
// cells (sheets, shared strings): tags and text, nothing of DTDs or
// namespaces. It allocates nothing per token; a token's bytes are valid
// until the next call. The parts reach it through a partGuard, which bounds
// every tag and text run, so no token outgrows what the limits allow.
type xmlScan struct {
	r    *bufio.Reader
	buf  []byte // the current token's bytes when they span buffer refills
	kind tokKind
	// name is a tag's local name (without a prefix), attrs the rest of
	// the tag; text is a text token's raw (undecoded) bytes, or a CDATA
	// section's content (cdata set).
	name, attrs, text []byte
	cdata             bool
	// pending is a '<' already read past by a text token.
	pending bool
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokText
	tokStart
	tokEnd
	tokEmpty // <tag/>
)

func newXMLScan(r io.Reader) *xmlScan {
	return &xmlScan{r: bufio.NewReaderSize(r, 64<<10)}
}

// next reads the next token. Comments, processing instructions and
// declarations are skipped.
func (x *xmlScan) next() (tokKind, error) {
	for {
		if !x.pending {
			text, err := x.readUntil('<')
			if len(text) > 0 {
				x.kind, x.text, x.cdata, x.pending = tokText, text, false, err == nil
				if err == io.EOF {
					return tokText, nil
				}
				return tokText, err
			}
			if err != nil {
				if err == io.EOF {
					return tokEOF, nil
				}
				return tokEOF, err
			}
		}
		x.pending = false
		k, err := x.readTag()
		if err != nil || k != tokEOF {
			return k, err
		}
		// A comment or the like: on to the next token.
	}
}

// readUntil reads up to (not including) delim, which it consumes.
func (x *xmlScan) readUntil(delim byte) ([]byte, error) {
	b, err := x.r.ReadSlice(delim)
	if err == nil {
		return b[:len(b)-1], nil
	}
	if !errors.Is(err, bufio.ErrBufferFull) {
		return b, err
	}
	x.buf = append(x.buf[:0], b...)
	for {
		b, err = x.r.ReadSlice(delim)
		x.buf = append(x.buf, b...)
		if err == nil {
			return x.buf[:len(x.buf)-1], nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return x.buf, err
		}
	}
}

// readTag reads what follows a '<': a start, end or empty tag, or skips a
// comment, CDATA (returned as text), processing instruction or
// declaration (tokEOF with no error: nothing to give).
func (x *xmlScan) readTag() (tokKind, error) {
	c, err := x.r.ReadByte()
	if err != nil {
		return tokEOF, unexpectedEOF(err)
	}
	switch c {
	case '?':
		return tokEOF, x.skipPast([]byte("?>"))
	case '!':
		head, err := x.r.Peek(2)
		if err == nil && string(head) == "--" {
			x.r.Discard(2)
			return tokEOF, x.skipPast([]byte("-->"))
		}
		if head, err := x.r.Peek(7); err == nil && string(head) == "[CDATA[" {
			x.r.Discard(7)
			text, err := x.readPast([]byte("]]>"))
			if err != nil {
				return tokEOF, err
			}
			x.kind, x.text, x.cdata = tokText, text, true
			return tokText, nil
		}
		return tokEOF, x.skipPast([]byte(">"))
	}
	if err := x.r.UnreadByte(); err != nil {
		return tokEOF, err
	}
	tag, err := x.readTagBody()
	if err != nil {
		return tokEOF, err
	}
	kind := tokStart
	switch {
	case len(tag) > 0 && tag[0] == '/':
		kind, tag = tokEnd, tag[1:]
	case len(tag) > 0 && tag[len(tag)-1] == '/':
		kind, tag = tokEmpty, tag[:len(tag)-1]
	}
	end := bytes.IndexAny(tag, " \t\r\n")
	if end < 0 {
		end = len(tag)
	}
	name := tag[:end]
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	x.kind, x.name, x.attrs = kind, name, tag[end:]
	return kind, nil
}

// readTagBody reads a tag up to its '>', which may not stand inside a
// quoted attribute value.
func (x *xmlScan) readTagBody() ([]byte, error) {
	tag, err := x.readUntil('>')
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	if !quotesOpen(tag) {
		return tag, nil
	}
	// A quoted '>' ends no tag: read on until the quotes balance.
	own := append([]byte(nil), tag...)
	for quotesOpen(own) {
		more, err := x.readUntil('>')
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		own = append(append(own, '>'), more...)
	}
	return own, nil
}

func quotesOpen(tag []byte) bool {
	var q byte
	for _, c := range tag {
		switch {
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case c == q:
			q = 0
		}
	}
	return q != 0
}

func (x *xmlScan) skipPast(end []byte) error {
	_, err := x.readPast(end)
	return err
}

// readPast reads up to and past end, returning what came before it.
func (x *xmlScan) readPast(end []byte) ([]byte, error) {
	var out []byte
	for {
		b, err := x.readUntil(end[len(end)-1])
		if err != nil {
			return nil, unexpectedEOF(err)
		}
		out = append(out, b...)
		out = append(out, end[len(end)-1])
		if bytes.HasSuffix(out, end) {
			return out[:len(out)-len(end)], nil
		}
	}
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// attr returns the value of attribute name (a local name) of the current
// tag, and whether it is there.
func (x *xmlScan) attr(name string) ([]byte, bool) {
	var found []byte
	ok := false
	x.eachAttr(func(key, value []byte) bool {
		if string(key) == name {
			found, ok = value, true
			return false
		}
		return true
	})
	return found, ok
}

// eachAttr calls fn with each attribute's local name and raw value, until
// fn returns false.
func (x *xmlScan) eachAttr(fn func(key, value []byte) bool) {
	a := x.attrs
	for {
		i := 0
		for i < len(a) && isSpace(a[i]) {
			i++
		}
		a = a[i:]
		eq := bytes.IndexByte(a, '=')
		if eq < 0 {
			return
		}
		key := a[:eq]
		for len(key) > 0 && isSpace(key[len(key)-1]) {
			key = key[:len(key)-1]
		}
		if i := bytes.IndexByte(key, ':'); i >= 0 {
			key = key[i+1:]
		}
		rest := a[eq+1:]
		for len(rest) > 0 && isSpace(rest[0]) {
			rest = rest[1:]
		}
		if len(rest) == 0 || (rest[0] != '"' && rest[0] != '\'') {
			return
		}
		end := bytes.IndexByte(rest[1:], rest[0])
		if end < 0 {
			return
		}
		if !fn(key, rest[1:1+end]) {
			return
		}
		a = rest[end+2:]
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// appendText appends the current text token decoded as an XML parser
// gives it: entities and character references resolved, line ends
// normalized to \n (CDATA only normalized).
func (x *xmlScan) appendText(dst []byte) ([]byte, error) {
	raw := x.text
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(dst, raw...), nil
	}
	for len(raw) > 0 {
		i := bytes.IndexAny(raw, "&\r")
		if x.cdata {
			i = bytes.IndexByte(raw, '\r')
		}
		if i < 0 {
			return append(dst, raw...), nil
		}
		dst = append(dst, raw[:i]...)
		raw = raw[i:]
		if raw[0] == '\r' {
			dst = append(dst, '\n')
			raw = raw[1:]
			if len(raw) > 0 && raw[0] == '\n' {
				raw = raw[1:]
			}
			continue
		}
		end := bytes.IndexByte(raw, ';')
		if end < 0 {
			return dst, fmt.Errorf("an unterminated character reference")
		}
		ref := string(raw[1:end])
		raw = raw[end+1:]
		switch ref {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			r, ok := charRef(ref)
			if !ok {
				return dst, fmt.Errorf("an invalid character entity &%s;", ref)
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst, nil
}

// charRef reads a numeric character reference's body (#65 or #x41).
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	base, digits := 10, ref[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || !validXMLChar(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

// validXMLChar is XML 1.0's Char production.
func validXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}
