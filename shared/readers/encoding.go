package readers

import (
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// detectEncoding names the encoding of a file from its first bytes and
// returns those bytes without any byte order mark. "binary" means NUL bytes
// that are not UTF-16.
func detectEncoding(head []byte) (string, []byte) {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return "utf-8-bom", head[3:]
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return "utf-16le", head[2:]
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return "utf-16be", head[2:]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		// UTF-16 without a BOM: ASCII text has every other byte zero.
		if evenZeros, oddZeros := zeroParity(head); oddZeros > len(head)/4 && evenZeros == 0 {
			return "utf-16le", head
		} else if evenZeros > len(head)/4 && oddZeros == 0 {
			return "utf-16be", head
		}
		return "binary", head
	}
	if validUTF8Prefix(head) || mostlyUTF8(head) {
		return "utf-8", head
	}
	return "windows-1252", head
}

// mostlyUTF8 weighs the evidence in a sample that is not valid UTF-8: text
// whose accented letters are UTF-8 sequences ("José") and that has a few
// stray bytes is UTF-8 with bad bytes on some rows (those rows become row
// errors), not Windows-1252 throughout, which would turn every name into
// mojibake ("JosÃ©"). With no UTF-8 sequence at all, the high bytes are
// Windows-1252 letters.
func mostlyUTF8(b []byte) bool {
	multi, invalid := 0, 0
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			b = b[1:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 {
			if len(b) < utf8.UTFMax && !utf8.FullRune(b) {
				break // the sample ends inside a character
			}
			invalid++
		} else {
			multi++
		}
		b = b[size:]
	}
	return multi > 0 && invalid <= multi/4+1 && invalid < multi
}

func zeroParity(b []byte) (even, odd int) {
	for i, c := range b {
		if c == 0 {
			if i%2 == 0 {
				even++
			} else {
				odd++
			}
		}
	}
	return even, odd
}

// validUTF8Prefix is utf8.Valid allowing the sample to end inside a character.
func validUTF8Prefix(b []byte) bool {
	for i := 0; i < 3 && len(b) > 0; i++ {
		if utf8.Valid(b) {
			return true
		}
		if utf8.RuneStart(b[len(b)-1]) || b[len(b)-1] >= 0x80 {
			b = b[:len(b)-1]
			continue
		}
		return false
	}
	return utf8.Valid(b)
}

// decoder wraps r, which starts with the bytes detectEncoding saw, so that
// it yields UTF-8 without a BOM.
func decoder(r io.Reader, enc string) io.Reader {
	if enc == "utf-8" {
		return r
	}
	return transform.NewReader(r, transformerFor(enc))
}

// transformerFor returns the decoder from enc to UTF-8 (a no-op for UTF-8
// without a BOM).
func transformerFor(enc string) transform.Transformer {
	switch enc {
	case "utf-8-bom":
		return unicode.UTF8BOM.NewDecoder()
	case "utf-16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewDecoder()
	case "utf-16be":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewDecoder()
	case "windows-1252":
		return charmap.Windows1252.NewDecoder()
	}
	return transform.Nop
}
