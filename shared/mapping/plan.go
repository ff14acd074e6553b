package mapping

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/textcut"
)

// Target names accepted in field_mapping besides the standard fields.
const (
	targetIgnore   = ""
	targetTags     = "tags"
	targetFullName = "full_name"
	customPrefix   = "custom."
)

// errorf is a mapping problem that fails the whole job before any row is
// written (apperr.Invalid: its message is safe to show).
func errorf(format string, args ...any) *apperr.Error { return apperr.Invalidf(format, args...) }

// column is what one file column feeds.
type column struct {
	kind   columnKind
	field  contacts.Field
	custom string
}

type columnKind int

const (
	ignored columnKind = iota
	standard
	tags
	fullName
	custom
)

// Plan is a resolved mapping for one file's header. It is immutable and safe
// to share between goroutines.
type Plan struct {
	header  []string
	columns []column
	// mapped says which standard fields the file supplies at all; an
	// unmapped field is never touched by an import, a mapped blank one may be
	// (overwrite_blanks).
	mapped      [contacts.NumFields]bool
	customNames []string
	opts        Options
	// alternates are the other columns of a field a contact may have
	// several of, best first: a row whose own column is blank takes the
	// first that is not, and the others are kept (other_emails, …).
	alternates map[contacts.Field][]int
	// streetLines are the columns of the street's further lines, joined
	// to it ("21 Tunnel Rd, Unit 4").
	streetLines []int
}

// Options are the parts of import_options that change how values are read.
type Options struct {
	// DateFormat resolves dates such as 03/04/2024: "DD/MM/YYYY",
	// "MM/DD/YYYY" or "YYYY-MM-DD". Empty: an ambiguous date is a row error.
	DateFormat string `json:"date_format,omitempty"`
	// CustomFieldTypes types custom fields by name: text (default), number,
	// boolean or date. Typed values are stored as JSON numbers, booleans and
	// ISO dates.
	CustomFieldTypes map[string]string `json:"custom_field_types,omitempty"`
}

var customName = regexp.MustCompile(`^[a-z0-9_][a-z0-9_ -]*$`)

// Resolve builds the plan for header. explicit maps a column name to a
// standard field name, "custom.<name>", "tags", "full_name", or "" to
// ignore the column. Columns it does not name are auto-mapped from their
// header when that field is not already taken. The match key (email) must
// end up mapped.
func Resolve(header []string, explicit map[string]string, opts Options) (*Plan, error) {
	return ResolveWith(header, nil, explicit, opts)
}

// ResolveWith is Resolve with the file's first rows (sample), whose values
// are evidence for the automatic mapping: a column of email addresses is an
// email column whatever its name, and of two columns for one field the one
// that holds values wins.
func ResolveWith(header []string, sample [][]string, explicit map[string]string, opts Options) (*Plan, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{header: header, columns: make([]column, len(header)), opts: opts, alternates: map[contacts.Field][]int{}}
	index := make(map[string]int, len(header))
	for i, h := range header {
		index[h] = i
		index[strings.ToLower(h)] = i
	}
	taken := map[string]string{} // target -> column that has it
	explicitCols := map[int]bool{}
	names := make([]string, 0, len(explicit))
	for col := range explicit {
		names = append(names, col)
	}
	sort.Strings(names)
	for _, colName := range names {
		i, ok := index[colName]
		if !ok {
			i, ok = index[strings.ToLower(colName)]
		}
		if !ok {
			return nil, errorf("field_mapping names column %s, which the file does not have; its columns are: %s", quoteName(colName), quoteList(header))
		}
		target := CleanTarget(explicit[colName])
		c, err := parseTarget(target)
		if err != nil {
			return nil, errorf("field_mapping[%s]: %v", quoteName(colName), err)
		}
		if err := claim(taken, target, header[i]); err != nil {
			return nil, err
		}
		p.columns[i] = c
		explicitCols[i] = true
	}
	takenTargets := map[string]bool{}
	for t := range taken {
		takenTargets[t] = true
	}
	used := map[int]bool{}
	for i := range explicitCols {
		used[i] = true
	}
	for i, sg := range suggest(header, sample, explicitCols, takenTargets) {
		c, _ := parseTarget(sg.Field)
		taken[sg.Field] = header[i]
		p.columns[i] = c
		used[i] = true
	}
	chosen := map[string]int{}
	for i, c := range p.columns {
		if c.kind == standard {
			chosen[c.field.Name()] = i
		}
	}
	if st, ok := chosen["street"]; ok {
		p.streetLines = streetLinesFor(header, used, st)
		for _, i := range p.streetLines {
			used[i] = true
		}
	}
	for t, cols := range alternatesFor(header, used, chosen) {
		f, _ := contacts.FieldByName(t)
		p.alternates[f] = cols
	}
	for _, c := range p.columns {
		switch c.kind {
		case standard:
			p.mapped[c.field] = true
		case fullName:
			// A full name fills the name fields that no column of their own fills.
			if _, ok := taken["first_name"]; !ok {
				p.mapped[contacts.FirstName] = true
			}
			if _, ok := taken["last_name"]; !ok {
				p.mapped[contacts.LastName] = true
			}
		case custom:
			p.customNames = append(p.customNames, c.custom)
		}
	}
	if !p.mapped[contacts.Email] {
		return nil, errorf("no column is mapped to email, the match key every contact needs; the file's columns are: %s. Map one in field_mapping, e.g. {%s: \"email\"}", quoteList(header), quoteName(firstOr(header, "Email")))
	}
	return p, nil
}

// MaxMappedColumns and MaxColumnName bound what a field_mapping may hold:
// as many columns as a file may have (readers.DefaultLimits), names as long
// as a header's may be. A mapping is kept with its job and listed with it.
const (
	MaxMappedColumns = 500
	MaxColumnName    = 1024
)

// CheckTargets validates the targets of a field_mapping before any file is
// read (its column names can only be checked against the file).
func CheckTargets(explicit map[string]string) error {
	if len(explicit) > MaxMappedColumns {
		return errorf("field_mapping names %d columns; a file may have at most %d", len(explicit), MaxMappedColumns)
	}
	names := make([]string, 0, len(explicit))
	for col := range explicit {
		if len(col) > MaxColumnName {
			return errorf("field_mapping names a column of %d bytes; a column name may be at most %d", len(col), MaxColumnName)
		}
		names = append(names, col)
	}
	sort.Strings(names)
	taken := map[string]string{}
	for _, col := range names {
		target := CleanTarget(explicit[col])
		if _, err := parseTarget(target); err != nil {
			return errorf("field_mapping[%s]: %v", quoteName(col), err)
		}
		if err := claim(taken, target, col); err != nil {
			return err
		}
	}
	return nil
}

func claim(taken map[string]string, target, col string) error {
	if target == targetIgnore {
		return nil
	}
	if prev, dup := taken[target]; dup {
		return errorf("field_mapping maps both %s and %s to %s; map each field from one column", quoteName(prev), quoteName(col), target)
	}
	taken[target] = col
	return nil
}

// CleanTarget is a field_mapping target as the mapping reads it:
// trimmed, and "" for a column left out, which "ignore" and "-" also say.
func CleanTarget(target string) string {
	target = strings.TrimSpace(target)
	if target == "ignore" || target == "-" {
		return targetIgnore
	}
	return target
}

func parseTarget(target string) (column, error) {
	switch {
	case target == targetIgnore:
		return column{kind: ignored}, nil
	case target == targetTags:
		return column{kind: tags}, nil
	case target == targetFullName:
		return column{kind: fullName}, nil
	case strings.HasPrefix(target, customPrefix):
		name := strings.TrimPrefix(target, customPrefix)
		if len(name) > contacts.MaxCustomNameLen || !customName.MatchString(name) {
			return column{}, fmt.Errorf("custom field name %q must be 1–%d lower-case letters, digits, spaces, _ or -", name, contacts.MaxCustomNameLen)
		}
		return column{kind: custom, custom: name}, nil
	}
	if f, ok := contacts.FieldByName(target); ok {
		return column{kind: standard, field: f}, nil
	}
	return column{}, fmt.Errorf("unknown field %q; use one of %s, tags, full_name, custom.<name>, or \"\" to ignore the column", target, standardNames())
}

// Validate checks the options on their own, before any file is read.
func (o Options) Validate() error {
	switch strings.ToUpper(o.DateFormat) {
	case "", "DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD":
	default:
		return errorf("import_options.date_format %s is not one of DD/MM/YYYY, MM/DD/YYYY, YYYY-MM-DD", quoteName(o.DateFormat))
	}
	for name, typ := range o.CustomFieldTypes {
		switch typ {
		case "text", "number", "boolean", "date":
		default:
			return errorf("import_options.custom_field_types[%s] = %s: use text, number, boolean or date", quoteName(name), quoteName(typ))
		}
	}
	return nil
}

// Mapped reports whether the file supplies field f.
func (p *Plan) Mapped(f contacts.Field) bool { return p.mapped[f] }

// CustomNames lists the custom fields the file supplies.
func (p *Plan) CustomNames() []string { return p.customNames }

// HasTags reports whether a column supplies tags.
func (p *Plan) HasTags() bool {
	for _, c := range p.columns {
		if c.kind == tags {
			return true
		}
	}
	return false
}

// Mapping returns the resolved mapping, column → target ("" for ignored),
// in the form field_mapping takes.
func (p *Plan) Mapping() map[string]string {
	out := make(map[string]string, len(p.header))
	for i, c := range p.columns {
		out[p.header[i]] = c.target()
	}
	return out
}

func (c column) target() string {
	switch c.kind {
	case standard:
		return c.field.Name()
	case tags:
		return targetTags
	case fullName:
		return targetFullName
	case custom:
		return customPrefix + c.custom
	}
	return targetIgnore
}

// Suggestions is the automatic mapping of a file, column by column, with
// the confidence and the reason of each; sample is its first rows.
func Suggestions(header []string, sample [][]string) map[string]Suggestion {
	out := make(map[string]Suggestion, len(header))
	for _, h := range header {
		out[h] = Suggestion{}
	}
	for i, sg := range suggest(header, sample, nil, map[string]bool{}) {
		out[header[i]] = sg
	}
	return out
}

// KnownHeader reports whether a column name maps to a contact field: what
// makes a row the file's header.
func KnownHeader(name string) bool {
	for _, c := range headerCandidates(name) {
		if c.score >= 60 {
			return true
		}
	}
	return false
}

// Targets lists what a column may be mapped to, for a person choosing:
// the standard fields, then tags and full_name. A custom field is
// custom.<name>, any name.
func Targets() []string {
	out := make([]string, 0, contacts.NumFields+2)
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		out = append(out, f.Name())
	}
	return append(out, targetTags, targetFullName)
}

func standardNames() string {
	names := make([]string, 0, contacts.NumFields)
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		names = append(names, f.Name())
	}
	return strings.Join(names, ", ")
}

// quoteList quotes a few names for a message: at most 10, each cut at 64
// characters, then how many more. A file of 480 long column names must not
// make a failure reason of megabytes.
func quoteList(ss []string) string {
	const most = 10
	q := make([]string, 0, min(len(ss), most)+1)
	for i, s := range ss {
		if i == most {
			q = append(q, fmt.Sprintf("and %d more", len(ss)-most))
			break
		}
		q = append(q, quoteName(s))
	}
	return strings.Join(q, ", ")
}

// quoteName quotes a column name for a message, cut at 64 characters.
func quoteName(s string) string {
	return fmt.Sprintf("%q", textcut.Runes(s, 64))
}

func firstOr(ss []string, def string) string {
	if len(ss) > 0 {
		return ss[0]
	}
	return def
}
