package mapping_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/mapping"
	"github.com/portagehq/portage/shared/readers"
)

func TestSuggest(t *testing.T) {
	t.Parallel()
	header := []string{"E-mail Address", "Given Name", "Surname", "Prénom", "Organization", "Mobile Phone",
		"Company Name", "PLZ", "Land", "Notes", "job_title"}
	got := map[string]string{}
	for h, sg := range mapping.Suggestions(header, nil) {
		got[h] = sg.Field
	}
	want := map[string]string{
		"E-mail Address": "email", "Given Name": "first_name", "Surname": "last_name",
		// A second column for a field already taken is left for the user to map.
		"Prénom": "", "Organization": "company", "Mobile Phone": "phone", "Company Name": "",
		"PLZ": "postal_code", "Land": "country", "Notes": "", "job_title": "job_title",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Suggest = %v\nwant %v", got, want)
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	header := []string{"Mail", "Name", "Plan"}
	tests := []struct {
		name     string
		header   []string
		explicit map[string]string
		opts     mapping.Options
		want     string
	}{
		{"NoEmailColumn", []string{"Name", "Phone"}, nil, mapping.Options{}, `no column is mapped to email, the match key every contact needs; the file's columns are: "Name", "Phone"`},
		{"EmailIgnoredExplicitly", header, map[string]string{"Mail": ""}, mapping.Options{}, "no column is mapped to email"},
		{"UnknownColumn", header, map[string]string{"Courriel": "email"}, mapping.Options{}, `field_mapping names column "Courriel", which the file does not have`},
		{"UnknownField", header, map[string]string{"Plan": "plan"}, mapping.Options{}, `field_mapping["Plan"]: unknown field "plan"`},
		{"BadCustomName", header, map[string]string{"Plan": "custom.Bad!"}, mapping.Options{}, `custom field name "Bad!"`},
		{"TwoColumnsOneField", header, map[string]string{"Mail": "email", "Plan": "email"}, mapping.Options{}, `maps both "Mail" and "Plan" to email`},
		{"BadDateFormat", header, nil, mapping.Options{DateFormat: "D.M.Y"}, "date_format"},
		{"BadCustomType", header, nil, mapping.Options{CustomFieldTypes: map[string]string{"plan": "money"}}, "custom_field_types"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := mapping.Resolve(tt.header, tt.explicit, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Resolve error = %v, want it to contain %q", err, tt.want)
			}
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("error is %T, want an apperr.Invalid error", err)
			}
		})
	}
}

func TestResolveExplicitAndAuto(t *testing.T) {
	t.Parallel()
	header := []string{"Contact Email", "Name", "Plan", "Phone", "Tel"}
	p, err := mapping.Resolve(header, map[string]string{"Contact Email": "email", "Plan": "custom.plan", "Phone": "ignore"}, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Explicit entries win; other columns are auto-mapped; an ignored field
	// can still be fed by another column's synonym.
	want := map[string]string{"Contact Email": "email", "Name": "full_name", "Plan": "custom.plan", "Phone": "", "Tel": "phone"}
	if got := p.Mapping(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Mapping = %v, want %v", got, want)
	}
	if !p.Mapped(contacts.FirstName) || !p.Mapped(contacts.LastName) || p.Mapped(contacts.Company) {
		t.Fatal("a full name column should map first and last name, nothing else")
	}
}

func TestMapRow(t *testing.T) {
	t.Parallel()
	header := []string{"email", "first_name", "last_name", "phone", "website", "postal_code", "tags", "custom.birthday", "custom.seats", "custom.active", "custom.note"}
	explicit := map[string]string{}
	for _, h := range header {
		explicit[h] = h
	}
	tests := []struct {
		name   string
		opts   mapping.Options
		values []string
		want   func(*contacts.Input)
		errs   []string // "column: message" fragments
	}{
		{
			name:   "NormalizesEveryField",
			values: []string{"  Ada.Lovelace@Example.COM ", " Ada  ", "Lovelace", "+1 (555) 123-4567 ext. 89", "https://ada.example", "02134", "vip; beta, VIP", "1815-12-10", "1,200.50", "yes", "  keep  me  "},
			want: func(in *contacts.Input) {
				in.Values[contacts.Email] = "ada.lovelace@example.com"
				in.Values[contacts.FirstName] = "Ada"
				in.Values[contacts.LastName] = "Lovelace"
				in.Values[contacts.Phone] = "+15551234567 ext. 89"
				in.Values[contacts.Website] = "https://ada.example"
				// Leading zeros are never lost: values stay text.
				in.Values[contacts.PostalCode] = "02134"
				in.Tags = []string{"vip", "beta"}
				in.Custom = map[string]any{"birthday": "1815-12-10", "seats": json.Number("1200.50"), "active": true, "note": "keep  me"}
			},
		},
		{
			name:   "InternationalPrefix",
			values: []string{"a@b.co", "", "", "0044 20 7946 0958", "", "", "", "", "", "", ""},
			want: func(in *contacts.Input) {
				in.Values[contacts.Email] = "a@b.co"
				in.Values[contacts.Phone] = "+442079460958"
				in.Custom = map[string]any{"birthday": "", "seats": "", "active": "", "note": ""}
			},
		},
		{
			name:   "ExcelSerialDate",
			values: []string{"a@b.co", "", "", "", "", "", "", "45355", "", "", ""},
			want: func(in *contacts.Input) {
				in.Values[contacts.Email] = "a@b.co"
				in.Custom = map[string]any{"birthday": "2024-03-04", "seats": "", "active": "", "note": ""}
			},
		},
		{
			name:   "UnambiguousDayFirst",
			values: []string{"a@b.co", "", "", "", "", "", "", "13/04/2024", "", "", ""},
			want: func(in *contacts.Input) {
				in.Values[contacts.Email] = "a@b.co"
				in.Custom = map[string]any{"birthday": "2024-04-13", "seats": "", "active": "", "note": ""}
			},
		},
		{
			name:   "DateFormatResolvesAmbiguity",
			opts:   mapping.Options{DateFormat: "DD/MM/YYYY", CustomFieldTypes: map[string]string{"birthday": "date"}},
			values: []string{"a@b.co", "", "", "", "", "", "", "03/04/2024", "", "", ""},
			want: func(in *contacts.Input) {
				in.Values[contacts.Email] = "a@b.co"
				in.Custom = map[string]any{"birthday": "2024-04-03", "seats": "", "active": "", "note": ""}
			},
		},
		// Every problem of the row is reported, each with its column.
		{
			name:   "CollectsAllErrors",
			values: []string{"not-an-email", strings.Repeat("x", 101), "", "call me", "no spaces allowed.com x", "", "", "03/04/2024", "lots", "maybe", ""},
			errs: []string{
				"email: not a valid email address: it has no @",
				"first_name: first_name is 101 characters long, more than the 100 allowed",
				"phone: not a valid phone number",
				"website: not a valid website: it contains spaces",
				"custom.birthday: custom.birthday: the date \"03/04/2024\" is ambiguous",
				"custom.seats: custom.seats must be a number",
				"custom.active: custom.active must be yes/no",
			},
		},
		{
			name:   "AmbiguousNumber",
			values: []string{"a@b.co", "", "", "", "", "", "", "", "1,200", "", ""},
			errs:   []string{"custom.seats: custom.seats: the number is ambiguous"},
		},
		{
			name:   "EmailRequired",
			values: []string{"  ", "Ada", "", "", "", "", "", "", "", "", ""},
			errs:   []string{"email: email is required: it is the match key"},
		},
		{
			name:   "BadEmails",
			values: []string{"ada@localhost", "", "", "", "", "", "", "", "", "", ""},
			errs:   []string{"email: not a valid email address: the domain has no dot (an address ends in a domain like example.com)"},
		},
		{
			name:   "NulByte",
			values: []string{"a@b.co", "A\x00da", "", "", "", "", "", "", "", "", ""},
			errs:   []string{"first_name: value contains a NUL character"},
		},
		{
			name:   "ImpossibleDate",
			values: []string{"a@b.co", "", "", "", "", "", "", "2024-02-30", "", "", ""},
			errs:   []string{"custom.birthday: custom.birthday: \"2024-02-30\" is not a valid calendar date"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := tt.opts
			if opts.CustomFieldTypes == nil {
				opts.CustomFieldTypes = map[string]string{"birthday": "date", "seats": "number", "active": "boolean"}
			}
			p, err := mapping.Resolve(header, explicit, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, errs := p.Map(readers.Record{Row: 7, Values: tt.values})
			if tt.errs != nil {
				if len(errs) != len(tt.errs) {
					t.Fatalf("got %d errors %+v, want %d", len(errs), errs, len(tt.errs))
				}
				for i, e := range errs {
					if e.Row != 7 || !strings.Contains(e.Column+": "+e.Message, tt.errs[i]) {
						t.Errorf("error %d = %+v, want %q", i, e, tt.errs[i])
					}
				}
				return
			}
			if errs != nil {
				t.Fatalf("unexpected errors %+v", errs)
			}
			var want contacts.Input
			tt.want(&want)
			// Every column of this header is mapped.
			for f := contacts.Field(0); f < contacts.NumFields; f++ {
				if f != contacts.Company && f != contacts.JobTitle && f != contacts.Street && f != contacts.City &&
					f != contacts.Region && f != contacts.Country {
					want.SetMapped(f)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Map = %+v\nwant %+v", got, want)
			}
		})
	}
}

// Reader problems (ragged rows, long cells) become row errors too.
func TestMapCarriesReaderProblems(t *testing.T) {
	t.Parallel()
	p, err := mapping.Resolve([]string{"email"}, nil, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, errs := p.Map(readers.Record{Row: 3, Values: []string{"a@b.co"}, Problems: []readers.Problem{{Message: "row has 2 values but the header has 1 columns"}}})
	if len(errs) != 1 || errs[0].Row != 3 || errs[0].Message != "row has 2 values but the header has 1 columns" {
		t.Fatalf("errors = %+v", errs)
	}
}

func TestFullNameSplits(t *testing.T) {
	t.Parallel()
	p, err := mapping.Resolve([]string{"Email", "Full Name"}, nil, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string][2]string{
		"Ada King Lovelace": {"Ada King", "Lovelace"},
		"Lovelace, Ada":     {"Ada", "Lovelace"},
		"Cher":              {"Cher", ""},
	} {
		got, errs := p.Map(readers.Record{Row: 2, Values: []string{"a@b.co", in}})
		if errs != nil {
			t.Fatal(errs)
		}
		if g := [2]string{got.Values[contacts.FirstName], got.Values[contacts.LastName]}; g != want {
			t.Errorf("%q split into %q, want %q", in, g, want)
		}
	}
}

// What the values say, when the names say nothing.
func TestSuggestionsFromValues(t *testing.T) {
	t.Parallel()
	header := []string{"Contact", "Where", "Town", "Code", "Newsletter"}
	sample := [][]string{
		{"Ada", "ada@example.com", "Boston", "02134", "yes"},
		{"Bob", "bob@example.com", "Cambridge", "02139", "no"},
	}
	got := mapping.Suggestions(header, sample)
	for col, want := range map[string]mapping.Suggestion{
		"Where": {Field: "email", Confidence: 0.75, Reason: "values"},
		"Code":  {Field: "postal_code", Confidence: 0.85, Reason: "values"},
	} {
		if got[col] != want {
			t.Errorf("%s: %+v, want %+v", col, got[col], want)
		}
	}
	// "Newsletter" holds yes/no: no email column, whatever the sample.
	if got["Newsletter"].Field != "" {
		t.Errorf("Newsletter: %+v", got["Newsletter"])
	}
}

// A file of hundreds of long column names fails with a message of a few
// names, not of every one: it is stored and shown in every job view.
func TestMessagesNameAFewColumns(t *testing.T) {
	t.Parallel()
	header := make([]string, 480)
	for i := range header {
		header[i] = fmt.Sprintf("column %03d %s", i, strings.Repeat("x", 200))
	}
	_, err := mapping.Resolve(header, nil, mapping.Options{})
	if err == nil || len(err.Error()) > 1500 || !strings.Contains(err.Error(), "and 470 more") {
		t.Fatalf("%d bytes: %.300v", len(err.Error()), err)
	}
}

// Email identity (docs/decisions.md, "Email addresses"): an
// internationalized domain is one contact in either form, an address with
// letters of any script before the @ is taken (RFC 6531, which Gmail and
// Outlook deliver), and a refusal says what to fix.
func TestEmailIdentity(t *testing.T) {
	t.Parallel()
	p, err := mapping.Resolve([]string{"email"}, nil, mapping.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ in, want, problem string }{
		{"user@bücher.de", "user@bücher.de", ""},
		{"user@xn--bcher-kva.de", "user@bücher.de", ""},
		{"User@BÜCHER.de", "user@bücher.de", ""},
		{"jürgen@example.de", "jürgen@example.de", ""},
		{"åsa@example.se", "åsa@example.se", ""},
		{"用户@例子.广告", "用户@例子.广告", ""},
		{"mailto:Ada@Example.com", "ada@example.com", ""},
		{"ada@example", "", "the domain has no dot"},
		{"ada@example,com", "", "the domain has a comma (did you mean a dot?)"},
		{"ada,lovelace@example.com", "", "has a comma (did you mean a dot?)"},
		{"ada..lovelace@example.com", "", "two dots in a row"},
		{".ada@example.com", "", "begins or ends with a dot"},
		{"ada(at)example.com", "", "write @ instead of (at)"},
		{"ada@@example.com", "", "more than one @"},
		{"ada lovelace@example.com", "", "contains a space"},
		{"ada<x>@example.com", "", `holds '<'`},
		{"ada@exa_mple.com", "", `the domain holds '_'`},
		{"ada@example.c0m", "", "not a top-level domain"},
		{"ada@-example.com", "", "begins or ends with a hyphen"},
	}
	for _, tt := range tests {
		got, errs := p.Map(readers.Record{Row: 2, Values: []string{tt.in}})
		switch {
		case tt.problem == "" && (len(errs) > 0 || got.Values[0] != tt.want):
			t.Errorf("%q: %q %v, want %q", tt.in, got.Values[0], errs, tt.want)
		case tt.problem != "" && (len(errs) != 1 || !strings.Contains(errs[0].Message, tt.problem)):
			t.Errorf("%q: %v, want a problem saying %q", tt.in, errs, tt.problem)
		}
	}
}

// A field_mapping is bounded as a file's header is: what a job keeps and
// lists stays small (a 1 MB column name made the import list 8 MB).
func TestCheckTargetsLimits(t *testing.T) {
	t.Parallel()
	long := map[string]string{strings.Repeat("c", 2000): "email"}
	if err := mapping.CheckTargets(long); err == nil || !strings.Contains(err.Error(), "a column name may be at most 1024") {
		t.Fatalf("long name: %v", err)
	}
	wide := map[string]string{}
	for i := range 501 {
		wide[fmt.Sprintf("c%d", i)] = "ignore"
	}
	if err := mapping.CheckTargets(wide); err == nil || !strings.Contains(err.Error(), "names 501 columns") {
		t.Fatalf("wide mapping: %v", err)
	}
}
