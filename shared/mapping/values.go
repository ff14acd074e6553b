package mapping

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/net/idna"
)

var (
	// emailLocal is a dot-atom of RFC 5322's characters and, as RFC 6531
	// allows (SMTPUTF8, which Gmail and Outlook deliver), any letter or
	// digit of any script.
	emailLocal  = regexp.MustCompile(`^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_{|}~-]+(\.[\p{L}\p{M}\p{N}!#$%&'*+/=?^_{|}~-]+)*$`)
	domainLabel = regexp.MustCompile(`^[\p{L}\p{M}\p{N}]([\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$`)
	// emailDomain maps a domain as a browser's address bar does (UTS 46:
	// lower case, compatibility forms folded), to its Unicode form.
	emailDomain = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false))
)

// normalizeEmail lower-cases an address and checks its syntax: one @, a
// dot-atom local part of at most 64 bytes (letters of any script allowed,
// RFC 6531), a domain of labels of letters, digits and hyphens with a
// top-level label of two letters or more. A "mailto:" prefix is dropped.
// An internationalized domain is kept in its Unicode form, whichever form
// the file wrote it in, so that user@bücher.de and user@xn--bcher-kva.de
// are one contact. A refusal says what is wrong in words a person can act
// on.
func normalizeEmail(v string) (string, string) {
	v = strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(v, "mailto:"), "MAILTO:"))
	const bad = "not a valid email address: "
	if strings.ContainsFunc(v, unicode.IsSpace) {
		return "", bad + "it contains a space"
	}
	local, domain, ok := strings.Cut(v, "@")
	if !ok {
		if strings.Contains(v, "(at)") || strings.Contains(v, "[at]") {
			return "", bad + "it has no @ (write @ instead of (at))"
		}
		return "", bad + "it has no @"
	}
	if strings.Contains(domain, "@") {
		return "", bad + "it has more than one @"
	}
	if msg := localProblem(local); msg != "" {
		return "", bad + msg
	}
	if strings.Contains(domain, ",") {
		return "", bad + "the domain has a comma (did you mean a dot?)"
	}
	if strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, ".") || strings.Contains(domain, "..") {
		return "", bad + "the domain has an empty part between dots"
	}
	if !strings.Contains(domain, ".") {
		return "", bad + "the domain has no dot (an address ends in a domain like example.com)"
	}
	if r, ok := firstOutside(domain, func(r rune) bool {
		return r == '-' || r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
	}); ok {
		return "", bad + fmt.Sprintf("the domain holds %q, which a domain cannot", r)
	}
	for _, l := range strings.Split(domain, ".") {
		if strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return "", bad + "a part of the domain begins or ends with a hyphen"
		}
	}
	unicodeDomain, err := emailDomain.ToUnicode(domain)
	if err != nil {
		return "", bad + "the domain is not a valid domain name"
	}
	labels := strings.Split(unicodeDomain, ".")
	for _, l := range labels {
		if !domainLabel.MatchString(l) {
			return "", bad + "a part of the domain begins or ends with a hyphen"
		}
	}
	if tld := labels[len(labels)-1]; len([]rune(tld)) < 2 || strings.IndexFunc(tld, unicode.IsDigit) >= 0 {
		return "", bad + fmt.Sprintf("the domain ends in %q, which is not a top-level domain like .com or .de", tld)
	}
	return local + "@" + unicodeDomain, ""
}

// localProblem says what is wrong with the part of an address before the
// @, or "".
func localProblem(local string) string {
	switch {
	case local == "":
		return "nothing comes before the @"
	case len(local) > 64:
		return "the part before the @ is longer than 64 characters"
	case strings.HasPrefix(local, ".") || strings.HasSuffix(local, "."):
		return "the part before the @ begins or ends with a dot"
	case strings.Contains(local, ".."):
		return "the part before the @ has two dots in a row"
	case strings.Contains(local, ","):
		return "the part before the @ has a comma (did you mean a dot?)"
	case !emailLocal.MatchString(local):
		if r, ok := firstOutside(local, func(r rune) bool {
			return r == '.' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r) || strings.ContainsRune("!#$%&'*+/=?^_{|}~-", r)
		}); ok {
			return fmt.Sprintf("the part before the @ holds %q, which an address cannot", r)
		}
		return "the part before the @ is not valid"
	}
	return ""
}

// firstOutside returns the first rune of s that ok refuses.
func firstOutside(s string, ok func(rune) bool) (rune, bool) {
	for _, r := range s {
		if !ok(r) {
			return r, true
		}
	}
	return 0, false
}

var phoneExt = regexp.MustCompile(`(?i)\s*(?:ext\.?|extension|x|#)\s*(\d{1,6})$`)

// normalizePhone keeps a phone number's leading + and digits and drops
// spaces, dots, dashes and parentheses: "+1 (555) 123-4567" becomes
// "+15551234567", "0044 20 7946 0958" becomes "+442079460958". A trunk zero
// ("030 1234567") is kept: without a country it carries meaning. An extension
// is kept as " ext. 123".
func normalizePhone(v string) (string, string) {
	ext := ""
	// Every extension marker the pattern knows holds an x or a #: most
	// numbers have neither and skip the backtracking regexp.
	if strings.ContainsAny(v, "xX#") {
		if m := phoneExt.FindStringSubmatchIndex(v); m != nil {
			ext = " ext. " + v[m[2]:m[3]]
			v = v[:m[0]]
		}
	}
	var b strings.Builder
	for i, r := range strings.TrimSpace(v) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return "", fmt.Sprintf("not a valid phone number: unexpected %q", r)
		}
	}
	p := b.String()
	if strings.HasPrefix(p, "00") {
		p = "+" + p[2:]
	}
	digits := len(strings.TrimPrefix(p, "+"))
	if digits < 5 || digits > 15 {
		return "", fmt.Sprintf("not a valid phone number: %d digits, expected 5 to 15", digits)
	}
	return p + ext, ""
}

// normalizeWebsite checks a web address loosely: no spaces and a dot in the
// host. It is stored as written.
func normalizeWebsite(v string) (string, string) {
	if strings.ContainsFunc(v, unicode.IsSpace) {
		return "", "not a valid website: it contains spaces"
	}
	host := v
	if i := strings.Index(host, "://"); i >= 0 {
		scheme := strings.ToLower(host[:i])
		if scheme != "http" && scheme != "https" {
			return "", fmt.Sprintf("not a valid website: scheme %q is not http or https", scheme)
		}
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if !strings.Contains(host, ".") {
		return "", "not a valid website: no domain"
	}
	return v, ""
}

var numberPattern = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// parseNumber accepts plain numbers and numbers with thousands separators
// ("1,234.5", "1 234,5"). A lone comma before exactly three digits ("1,200")
// reads both ways and is refused, like an ambiguous date.
func parseNumber(s string) (string, bool, string) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "'", "").Replace(s)
	if numberPattern.MatchString(s) {
		return s, true, ""
	}
	commas, dots := strings.Count(s, ","), strings.Count(s, ".")
	switch {
	case commas > 0 && dots <= 1 && (dots == 0 && commas > 1 || strings.LastIndex(s, ",") < strings.LastIndex(s, ".")):
		s = strings.ReplaceAll(s, ",", "") // 1,234,567 or 1,234.5
	case commas == 1 && dots == 0:
		if i := strings.Index(s, ","); len(s)-i-1 == 3 {
			return "", false, "is ambiguous (thousands or decimal comma?); write it without separators"
		}
		s = strings.Replace(s, ",", ".", 1) // 12,5
	case dots > 0 && commas <= 1 && strings.LastIndex(s, ".") < strings.LastIndex(s, ","):
		s = strings.Replace(strings.ReplaceAll(s, ".", ""), ",", ".", 1) // 1.234,5
	}
	if numberPattern.MatchString(s) {
		return s, true, ""
	}
	return "", false, ""
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "y", "1", "x", "oui", "ja", "si", "sí":
		return true, true
	case "false", "no", "n", "0", "non", "nein":
		return false, true
	}
	return false, false
}

var (
	isoDate     = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2}))?)?`)
	slashDate   = regexp.MustCompile(`^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})$`)
	serialDate  = regexp.MustCompile(`^\d{1,6}(\.\d+)?$`)
	namedLayout = []string{"2 Jan 2006", "2 January 2006", "Jan 2 2006", "January 2 2006", "Jan 2, 2006", "January 2, 2006", "2-Jan-2006", "2-Jan-06"}
)

// parseDate returns an ISO date (YYYY-MM-DD) from ISO text, an Excel serial
// number, a named-month date, or a numeric day/month date. A numeric date
// that reads both ways (03/04/2024) needs format, else it is an error: a
// date is never guessed.
// emptyDate is a date of zeros only.
var emptyDate = regexp.MustCompile(`^0+([-/.]0+){2}( 0+(:0+){1,2})?$`)

func parseDate(s, format string) (string, string) {
	format = strings.ToUpper(format)
	if emptyDate.MatchString(s) {
		return "", "" // "0/0/00", "0000-00-00": exporters' way of writing no date
	}
	if m := isoDate.FindStringSubmatch(s); m != nil {
		return validDate(atoi(m[1]), atoi(m[2]), atoi(m[3]), s)
	}
	if serialDate.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		if f < 1 || f > 2958465 { // Excel's range: 1900-01-01 .. 9999-12-31
			return "", fmt.Sprintf("%q is not a date", s)
		}
		// Excel's day 1 is 1900-01-01 and it counts a 29 Feb 1900 that never was.
		base := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
		if f < 61 {
			base = base.AddDate(0, 0, 1)
		}
		return base.AddDate(0, 0, int(math.Floor(f))).Format(time.DateOnly), ""
	}
	if m := slashDate.FindStringSubmatch(s); m != nil {
		a, b, y := atoi(m[1]), atoi(m[2]), atoi(m[3])
		if len(m[3]) == 2 {
			y += 2000
			if y > time.Now().Year()+10 {
				y -= 100
			}
		}
		switch {
		case format == "DD/MM/YYYY":
			return validDate(y, b, a, s)
		case format == "MM/DD/YYYY":
			return validDate(y, a, b, s)
		case a > 12 && b <= 12:
			return validDate(y, b, a, s)
		case b > 12 && a <= 12:
			return validDate(y, a, b, s)
		case a == b:
			return validDate(y, a, b, s)
		}
		return "", fmt.Sprintf("the date %q is ambiguous (day/month or month/day?); set import_options.date_format to DD/MM/YYYY or MM/DD/YYYY", s)
	}
	for _, layout := range namedLayout {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format(time.DateOnly), ""
		}
	}
	return "", fmt.Sprintf("%q is not a date; use YYYY-MM-DD", s)
}

func validDate(y, m, d int, s string) (string, string) {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return "", fmt.Sprintf("%q is not a valid calendar date", s)
	}
	return t.Format(time.DateOnly), ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
