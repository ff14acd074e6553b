package mapping

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Suggestion is how a column is mapped when field_mapping does not name it.
type Suggestion struct {
	// Field is the target ("email", "custom.<name>", …), "" for a column
	// left alone.
	Field string `json:"field"`
	// Confidence is how sure the evidence is, 0 to 1.
	Confidence float64 `json:"confidence"`
	// Reason says what the suggestion rests on: "header" (the column's
	// name), "values" (what the column holds), "known layout" (how an
	// export of a common tool names its columns).
	Reason string `json:"reason,omitempty"`
}

// candidate is one target a column could feed, with its score.
type candidate struct {
	col    int
	target string
	score  int
	reason string
}

// Qualifiers in column names and what they say about the column: the
// business or mailing address beats the home one, the first of a numbered
// group beats the second.
var qualifiers = map[string]int{
	"business": 8, "work": 8, "mailing": 8, "primary": 5, "default": 5, "main": 5, "office": 5, "billing": 3,
	"home": 0, "personal": 0, "private": 0, "person": 0, "contact": 0, "customer": 0, "value": 0,
	"other": -10, "shipping": -5, "alternate": -10, "secondary": -10,
}

// labelWords mark a column that describes another ("E-mail 1 - Label":
// "Home"), never a value of its own.
var labelWords = map[string]bool{"label": true, "type": true}

// generic synonyms name several things: a "Title" may be a job title or a
// name prefix, "Name" a full name or a company's.
var generic = map[string]bool{"title": true, "name": true, "contact": true, "address": true, "account": true,
	"business": true, "org": true, "job": true, "role": true, "web": true, "site": true, "mail": true,
	"first": true, "last": true, "state": true, "county": true, "label": true, "mobile": true, "cell": true,
	"nom": true, "land": true, "ort": true, "via": true, "cap": true}

var trailingNumber = regexp.MustCompile(`^([a-z]+)(\d+)$`)

// headerCandidates scores the targets a column name suggests.
func headerCandidates(h string) []candidate {
	n := normalizeHeader(h)
	if t, ok := synonyms[n]; ok {
		score := 90
		if n == normalizeHeader(t) {
			score = 100
		} else if generic[n] {
			score = 70
		}
		return []candidate{{target: t, score: score, reason: "header"}}
	}
	// Words, with qualifiers and group numbers taken off: "E-mail 1 -
	// Value", "Business Street", "Person - Email - Work", "Default Address
	// Zip", "Mailing State/Province".
	lower := strings.ReplaceAll(strings.ToLower(h), "e-mail", "email")
	words := strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var core []string
	adjust := 0
	for _, w := range words {
		if labelWords[w] {
			return nil
		}
		if q, ok := qualifiers[w]; ok {
			adjust += q
			continue
		}
		if num, err := strconv.Atoi(w); err == nil {
			adjust -= 30 * min(max(num-1, 0), 2)
			continue
		}
		if m := trailingNumber.FindStringSubmatch(w); m != nil {
			num, _ := strconv.Atoi(m[2])
			adjust -= 30 * min(max(num-1, 0), 2)
			w = m[1]
		}
		core = append(core, w)
	}
	// "Address 1 - Street", "Default Address Zip": the address word only
	// groups what follows it.
	if len(core) > 1 && core[0] == "address" {
		core = core[1:]
	}
	if len(core) == 0 {
		return nil
	}
	if t, ok := synonyms[normalizeHeader(strings.Join(core, " "))]; ok {
		score := 85
		if generic[strings.Join(core, "")] {
			score = 65
		}
		return []candidate{{target: t, score: score + adjust, reason: "known layout"}}
	}
	// One word of a short name: "Phone Mobile" is a phone.
	if len(core) <= 2 {
		var out []candidate
		for _, w := range core {
			if t, ok := synonyms[w]; ok && !generic[w] {
				out = append(out, candidate{target: t, score: 60 + adjust, reason: "header"})
			}
		}
		return out
	}
	return nil
}

var emailish = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

// valuesFit says whether a column's sample values can be the target's, and
// how full the column is (0 to 1). A column the sample says nothing about
// fits.
func valuesFit(target string, vals []string) (bool, float64) {
	filled, fit := 0, 0
	for _, v := range vals {
		v = strings.TrimSpace(strings.TrimPrefix(v, "'"))
		if v == "" {
			continue
		}
		filled++
		switch target {
		case "email":
			first, _, _ := strings.Cut(v, " ::: ")
			if emailish.MatchString(strings.TrimSpace(first)) {
				fit++
			}
		case "phone":
			if digits(v) >= 6 && !strings.Contains(v, "@") {
				fit++
			}
		case "postal_code":
			if len(v) <= 12 && digits(v) > 0 {
				fit++
			}
		case "website":
			if !strings.Contains(v, " ") && strings.Contains(v, ".") && !strings.Contains(v, "@") {
				fit++
			}
		default:
			if !strings.Contains(v, "@") || target == "tags" || target == "full_name" {
				fit++
			}
		}
	}
	if len(vals) == 0 {
		return true, 0
	}
	return filled == 0 || fit*2 >= filled, float64(filled) / float64(len(vals))
}

func fillBonus(fill float64, any int) int {
	if fill == 0 {
		return 0
	}
	return any + int(5*fill)
}

func digits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

var addressTargets = map[string]bool{"street": true, "city": true, "region": true, "postal_code": true, "country": true}

// addressGroup is what a column's name says beyond its field: "Business",
// "Home", "Mailing", "Default Address", "Work … 1".
func addressGroup(h string) string {
	lower := strings.ToLower(h)
	for _, q := range []string{"business", "work", "mailing", "home", "other", "billing", "shipping", "default"} {
		if strings.Contains(lower, q) {
			return q
		}
	}
	return ""
}

// suggest maps the columns that explicit does not (cols[i] false): every
// column scores each target from its name and its values, and targets go
// out best score first, each to one column. taken holds the targets already
// mapped explicitly.
func suggest(header []string, sample [][]string, fixed map[int]bool, taken map[string]bool) map[int]Suggestion {
	column := func(i int) []string {
		var vs []string
		for _, r := range sample {
			if i < len(r) {
				vs = append(vs, r[i])
			} else {
				vs = append(vs, "")
			}
		}
		return vs
	}
	// An address comes from one group: the group whose address columns hold
	// the most gets them all.
	groupFill := map[string]float64{}
	groupCols := map[string]int{}
	var cands []candidate
	lowerHeader := map[string]bool{}
	for _, h := range header {
		lowerHeader[normalizeHeader(h)] = true
	}
	for i, h := range header {
		if fixed[i] {
			continue
		}
		vals := column(i)
		cs := headerCandidates(h)
		// Outlook's "Title" is the name prefix (Mr., Dr.) beside "Suffix".
		if normalizeHeader(h) == "title" && lowerHeader["suffix"] && lowerHeader["middlename"] {
			cs = nil
		}
		if len(cs) == 0 {
			// A column of email addresses is an email column, whatever its name.
			if ok, fill := valuesFit("email", vals); ok && fill >= 0.5 {
				cs = []candidate{{target: "email", score: 55, reason: "values"}}
			} else if postalValues(vals) && (nextToCity(header, i-1) || nextToCity(header, i+1)) {
				// Five-digit strings beside a city are its postal code.
				cs = []candidate{{target: "postal_code", score: 50, reason: "values"}}
			}
		}
		for _, c := range cs {
			ok, fill := valuesFit(c.target, vals)
			if !ok {
				continue
			}
			c.col = i
			// Between two columns for one field, the one that holds values
			// (whether it holds any counts most; a business address that
			// some rows have still beats a home one that all have).
			c.score += fillBonus(fill, 15)
			if addressTargets[c.target] {
				g := addressGroup(h)
				groupFill[g] += fill
				groupCols[g]++
			}
			cands = append(cands, c)
		}
	}
	for k := range cands {
		if c := &cands[k]; addressTargets[c.target] {
			g := addressGroup(header[c.col])
			c.score += fillBonus(groupFill[g]/float64(groupCols[g]), 10)
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		if cands[a].score != cands[b].score {
			return cands[a].score > cands[b].score
		}
		return cands[a].col < cands[b].col
	})
	out := map[int]Suggestion{}
	for _, c := range cands {
		if _, done := out[c.col]; done || taken[c.target] || c.score < 40 {
			continue
		}
		taken[c.target] = true
		out[c.col] = Suggestion{Field: c.target, Confidence: min(float64(c.score)/100, 1), Reason: c.reason}
	}
	return out
}

// alternatesFor lists, for the fields a contact may have several of
// (email, phone, website), the columns that are another place for them
// (Outlook's Home Phone beside its Mobile Phone, Google's E-mail 2 - Value),
// best first, leaving out the columns used otherwise.
func alternatesFor(header []string, used map[int]bool, chosen map[string]int) map[string][]int {
	type alt struct{ col, score int }
	by := map[string][]alt{}
	for i, h := range header {
		if used[i] {
			continue
		}
		for _, c := range headerCandidates(h) {
			if _, multi := alternateTargets[c.target]; multi && c.score >= 50 {
				if _, ok := chosen[c.target]; ok {
					by[c.target] = append(by[c.target], alt{i, c.score})
				}
			}
		}
	}
	out := map[string][]int{}
	for t, as := range by {
		sort.SliceStable(as, func(a, b int) bool { return as[a].score > as[b].score })
		for _, a := range as {
			out[t] = append(out[t], a.col)
		}
	}
	return out
}

var alternateTargets = map[string]bool{"email": true, "phone": true, "website": true}

// streetLinesFor finds the further lines of the chosen street column, in
// its group: "Business Street 2" and "3" for "Business Street", "Default
// Address Address2" for "…Address1", "Home Address 2" for "Home Address 1".
// A number that ends the name counts a line; one before the field word
// (Google's "Address 2 - Street") counts a second address, which is not.
func streetLinesFor(header []string, used map[int]bool, street int) []int {
	group := addressGroup(header[street])
	var out []int
	for i, h := range header {
		if used[i] || i == street || addressGroup(h) != group || lineNumber(h) < 2 {
			continue
		}
		for _, c := range headerCandidates(h) {
			if c.target == "street" {
				out = append(out, i)
				break
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return lineNumber(header[out[a]]) < lineNumber(header[out[b]]) })
	return out
}

// lineNumber is the number that ends a column name ("Street 2",
// "Address2"), or 0.
func lineNumber(h string) int {
	words := strings.FieldsFunc(strings.ToLower(h), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return 0
	}
	last := words[len(words)-1]
	if m := trailingNumber.FindStringSubmatch(last); m != nil {
		last = m[2]
	}
	n, _ := strconv.Atoi(last)
	return n
}

var postalLike = regexp.MustCompile(`^(\d{5}(-\d{4})?|\d{4}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})$`)

// postalValues: most non-blank values look like postal codes (US ZIP and
// ZIP+4, four-digit codes, UK postcodes).
func postalValues(vals []string) bool {
	filled, fit := 0, 0
	for _, v := range vals {
		if v = strings.TrimSpace(strings.TrimPrefix(v, "'")); v != "" {
			filled++
			if postalLike.MatchString(strings.ToUpper(v)) {
				fit++
			}
		}
	}
	return filled > 0 && fit*5 >= filled*4
}

func nextToCity(header []string, i int) bool {
	if i < 0 || i >= len(header) {
		return false
	}
	for _, c := range headerCandidates(header[i]) {
		if c.target == "city" {
			return true
		}
	}
	return false
}
