package readers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/portagehq/portage/shared/textcut"
	"golang.org/x/text/encoding/charmap"
)

// VCardHeader is the columns a vCard file reads as: one row a card. Several
// emails, phones or websites of one card are written into one cell
// separated by " ::: " (as Google writes them), so that the first is the
// contact's and the mapping keeps the others.
var VCardHeader = []string{"Full Name", "First Name", "Last Name", "Email", "Phone", "Organization", "Title",
	"Street", "City", "Region", "Postal Code", "Country", "Website", "Note", "Categories"}

const (
	vcFullName = iota
	vcFirst
	vcLast
	vcEmail
	vcPhone
	vcOrg
	vcTitle
	vcStreet
	vcCity
	vcRegion
	vcPostal
	vcCountry
	vcWebsite
	vcNote
	vcCategories
)

// vcardReader reads vCard 2.1, 3.0 and 4.0 (an iPhone's, macOS Contacts',
// iCloud's, Outlook's or Google's .vcf): folded lines, escaped \, \; \n,
// QUOTED-PRINTABLE values and CHARSET in 2.1, group prefixes (item1.ADR).
// Embedded PHOTO, LOGO, SOUND and KEY data is skipped line by line without
// being held. Row numbers are card numbers.
type vcardReader struct {
	info  Info
	br    *bufio.Reader
	lim   Limits
	line  int
	card  int
	ahead []byte // a physical line read but not yet used
	has   bool
}

func openVCard(r io.Reader, enc string, lim Limits) (Reader, error) {
	v := &vcardReader{info: Info{FileType: VCF, Encoding: enc, EncodingGuessed: enc == "utf-8" || enc == "windows-1252"},
		br: bufio.NewReaderSize(decoder(r, enc), 64<<10), lim: lim}
	return v, nil
}

func (v *vcardReader) Info() Info         { return v.info }
func (v *vcardReader) Header() []string   { return VCardHeader }
func (v *vcardReader) Sample() [][]string { return nil }
func (v *vcardReader) Close() error       { return nil }
func (v *vcardReader) physicalLine() ([]byte, error) {
	if v.has {
		v.has = false
		return v.ahead, nil
	}
	var line []byte
	for {
		chunk, err := v.br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > v.lim.MaxLineBytes {
			return nil, atLine(v.line+1, fmt.Sprintf("the line is longer than %s", humanBytes(int64(v.lim.MaxLineBytes))))
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && len(line) == 0 {
			return nil, err
		}
		v.line++
		return bytes.TrimRight(line, "\r\n"), nil
	}
}

// binaryProps hold embedded files: skipped, never held.
var binaryProps = map[string]bool{"PHOTO": true, "LOGO": true, "SOUND": true, "KEY": true}

// logicalLine reads one content line, unfolding it: a line that starts with
// a space or a tab continues the one before, and in QUOTED-PRINTABLE a line
// ending in "=" continues on the next.
func (v *vcardReader) logicalLine() (string, error) {
	first, err := v.physicalLine()
	if err != nil {
		return "", err
	}
	name := strings.ToUpper(propName(string(first)))
	skip := binaryProps[name]
	qp := bytes.Contains(bytes.ToUpper(first[:max(bytes.IndexByte(first, ':'), 0)]), []byte("QUOTED-PRINTABLE"))
	var b bytes.Buffer
	if !skip {
		b.Write(first)
	}
	for {
		if qp && !skip && bytes.HasSuffix(b.Bytes(), []byte("=")) {
			next, err := v.physicalLine()
			if err != nil {
				break
			}
			b.Truncate(b.Len() - 1)
			b.Write(next)
			continue
		}
		next, err := v.physicalLine()
		if err != nil {
			break
		}
		if len(next) > 0 && (next[0] == ' ' || next[0] == '\t') {
			if !skip {
				b.Write(next[1:])
				if b.Len() > 4*v.lim.MaxCellBytes+1024 {
					return "", atLine(v.line, fmt.Sprintf("card %d: a %s value is longer than %s", v.card, name, humanBytes(int64(4*v.lim.MaxCellBytes))))
				}
			}
			continue
		}
		v.ahead, v.has = next, true
		break
	}
	if skip {
		return name + ":", nil
	}
	return b.String(), nil
}

// propName is a content line's property name without its group
// ("item1.ADR;TYPE=work:…" → "ADR").
func propName(line string) string {
	end := strings.IndexAny(line, ";:")
	if end < 0 {
		end = len(line)
	}
	n := line[:end]
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		n = n[i+1:]
	}
	return n
}

type vcValue struct {
	text string
	pref bool
}

func (v *vcardReader) Next() (Record, error) {
	// Find the next card.
	for {
		l, err := v.logicalLine()
		if err == io.EOF {
			return Record{}, io.EOF
		}
		if err != nil {
			return Record{}, err
		}
		if strings.EqualFold(strings.TrimSpace(l), "BEGIN:VCARD") {
			break
		}
		if strings.TrimSpace(l) != "" {
			return Record{}, atLine(v.line, "text outside a card (BEGIN:VCARD … END:VCARD); is this a vCard file?")
		}
	}
	v.card++
	start := v.line
	rec := Record{Row: v.card, Values: make([]string, len(VCardHeader))}
	var emails, phones, urls []vcValue
	var adr *vcValue
	for {
		l, err := v.logicalLine()
		if err == io.EOF {
			return Record{}, atLine(start, fmt.Sprintf("card %d starting here is never closed (no END:VCARD)", v.card))
		}
		if err != nil {
			return Record{}, err
		}
		colon := strings.IndexByte(l, ':')
		if colon < 0 {
			continue
		}
		name := strings.ToUpper(propName(l))
		params := strings.Split(l[:colon], ";")[1:]
		raw := l[colon+1:]
		if name == "END" {
			break
		}
		val, problem := decodeVCardValue(raw, params)
		if problem != "" {
			rec.Problems = append(rec.Problems, Problem{Column: name, Value: textcut.Bytes(raw, 64), Message: problem})
			continue
		}
		pref := isPref(params)
		switch name {
		case "FN":
			rec.Values[vcFullName] = unescape(val)
		case "N":
			parts := splitUnescaped(val, ';')
			if len(parts) > 0 {
				rec.Values[vcLast] = parts[0]
			}
			if len(parts) > 1 {
				rec.Values[vcFirst] = parts[1]
			}
		case "EMAIL":
			emails = append(emails, vcValue{unescape(val), pref})
		case "TEL":
			phones = append(phones, vcValue{strings.TrimPrefix(unescape(val), "tel:"), pref})
		case "URL":
			urls = append(urls, vcValue{unescape(val), pref})
		case "ORG":
			// The organization; its units (a department) are not the company.
			rec.Values[vcOrg] = strings.TrimSpace(splitUnescaped(val, ';')[0])
		case "TITLE":
			rec.Values[vcTitle] = unescape(val)
		case "NOTE":
			rec.Values[vcNote] = unescape(val)
		case "CATEGORIES":
			rec.Values[vcCategories] = strings.Join(nonEmpty(splitUnescaped(val, ',')), ", ")
		case "ADR":
			if adr == nil || pref && !adr.pref {
				adr = &vcValue{val, pref}
			}
		}
	}
	rec.Values[vcEmail] = joinValues(emails)
	rec.Values[vcPhone] = joinValues(phones)
	rec.Values[vcWebsite] = joinValues(urls)
	if adr != nil {
		parts := splitUnescaped(adr.text, ';')
		for len(parts) < 7 {
			parts = append(parts, "")
		}
		// PO box; extended address; street; locality; region; postal code; country.
		rec.Values[vcStreet] = strings.Join(nonEmpty([]string{parts[2], parts[1], parts[0]}), ", ")
		rec.Values[vcCity], rec.Values[vcRegion], rec.Values[vcPostal], rec.Values[vcCountry] = parts[3], parts[4], parts[5], parts[6]
	}
	rec.Problems = append(rec.Problems, cellProblems(VCardHeader, rec.Values, v.lim, v.info.Encoding)...)
	return rec, nil
}

// decodeVCardValue undoes a 2.1 value's QUOTED-PRINTABLE and CHARSET.
func decodeVCardValue(raw string, params []string) (string, string) {
	qp, charset := false, ""
	for _, p := range params {
		k, val, ok := strings.Cut(p, "=")
		switch {
		case !ok && strings.EqualFold(k, "QUOTED-PRINTABLE"), ok && strings.EqualFold(k, "ENCODING") && strings.EqualFold(val, "QUOTED-PRINTABLE"):
			qp = true
		case ok && strings.EqualFold(k, "CHARSET"):
			charset = strings.ToUpper(strings.Trim(val, `"`))
		}
	}
	b := []byte(raw)
	if qp {
		var out bytes.Buffer
		for i := 0; i < len(b); i++ {
			if b[i] == '=' && i+2 < len(b) && isHex(b[i+1]) && isHex(b[i+2]) {
				out.WriteByte(unhex(b[i+1])<<4 | unhex(b[i+2]))
				i += 2
				continue
			}
			out.WriteByte(b[i])
		}
		b = out.Bytes()
	}
	if charset == "" && qp && !utf8.Valid(b) {
		charset = "WINDOWS-1252" // 2.1 files from Outlook and old phones
	}
	switch charset {
	case "", "UTF-8", "UTF8", "US-ASCII":
	case "ISO-8859-1", "LATIN1", "WINDOWS-1252", "CP1252":
		d, err := charmap.Windows1252.NewDecoder().Bytes(b)
		if err != nil {
			return "", "the value cannot be decoded as " + charset
		}
		b = d
	default:
		return "", fmt.Sprintf("charset %s is not supported; save the vCard as UTF-8", charset)
	}
	return string(b), ""
}

func isPref(params []string) bool {
	for _, p := range params {
		k, val, ok := strings.Cut(p, "=")
		if !ok && strings.EqualFold(k, "PREF") {
			return true // 2.1
		}
		if ok && strings.EqualFold(k, "PREF") {
			return val == "1"
		}
		if ok && strings.EqualFold(k, "TYPE") {
			for _, t := range strings.Split(strings.Trim(val, `"`), ",") {
				if strings.EqualFold(t, "pref") {
					return true
				}
			}
		}
	}
	return false
}

func joinValues(vs []vcValue) string {
	var pref, rest []string
	for _, v := range vs {
		if v.text = strings.TrimSpace(v.text); v.text == "" {
			continue
		}
		if v.pref {
			pref = append(pref, v.text)
		} else {
			rest = append(rest, v.text)
		}
	}
	return strings.Join(append(pref, rest...), " ::: ")
}

// splitUnescaped splits a structured value on sep where it is not escaped,
// and unescapes each part.
func splitUnescaped(s string, sep byte) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			cur.WriteByte('\\')
			cur.WriteByte(s[i+1])
			i++
			continue
		}
		if s[i] == sep {
			parts = append(parts, unescape(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteByte(s[i])
	}
	return append(parts, unescape(cur.String()))
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i+1])
			}
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
