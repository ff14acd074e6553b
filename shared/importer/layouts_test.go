package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
)

// contactFields is one contact as the layouts test states it: every
// standard field that is set, "tags" joined with "|", and "custom.<name>"
// for custom fields. A field it does not name must be empty.
type contactFields map[string]string

func fieldsOf(r contacts.Row) contactFields {
	out := contactFields{}
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		if v := r.Values[f]; v != nil && *v != "" {
			out[f.Name()] = *v
		}
	}
	if len(r.Tags) > 0 {
		out["tags"] = strings.Join(r.Tags, "|")
	}
	for k, raw := range r.Custom {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		out["custom."+k] = s
	}
	return out
}

// The files people bring from the tools they leave import with no
// field_mapping, every field where it belongs: each fixture follows its
// tool's export (column names, notes above the header, footers, quoting,
// apostrophes before digits, tag lists, several values in one cell).
func TestExportLayoutsImportWithoutMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want map[string]contactFields
	}{
		{"google.csv", map[string]contactFields{
			// "E-mail 2 - Value" and the second address in "E-mail 1" are kept;
			// the "* myContacts" system label is no tag.
			"ada@example.com": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines Ltd",
				"job_title": "Mathematician", "phone": "+442079460958", "street": "12 St James's Square", "city": "London",
				"postal_code": "SW1Y 4JH", "country": "United Kingdom", "website": "https://ada.example.com", "tags": "VIP",
				"custom.other_emails": "ada.home@example.org"},
			"grace@example.com": {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper", "company": "US Navy",
				"job_title": "Rear Admiral", "phone": "+12025550143", "tags": "Navy|VIP", "custom.other_emails": "grace.hopper@navy.example"},
		}},
		// Google's "Outlook CSV" flavour: "Title" is the name prefix.
		{"google-outlook.csv", map[string]contactFields{
			"katherine@example.com": {"email": "katherine@example.com", "first_name": "Katherine", "last_name": "Johnson",
				"company": "NASA Langley", "job_title": "Research Mathematician", "phone": "+17575550100", "street": "1 NASA Drive",
				"city": "Hampton", "region": "VA", "postal_code": "23681", "country": "United States", "tags": "VIP|Science"},
		}},
		// Outlook: the business address over the home one, its second line
		// joined; the mobile phone first, the business phone kept; a contact
		// with only a home phone still has it.
		{"outlook.csv", map[string]contactFields{
			"margaret@example.com": {"email": "margaret@example.com", "first_name": "Margaret", "last_name": "Hamilton",
				"company": "Hamilton Technologies", "job_title": "Director of Software Engineering", "phone": "+16175550199",
				"website": "https://hamilton.example.com", "street": "1 Main Street, Suite 400", "city": "Boston", "region": "MA",
				"postal_code": "02110", "country": "United States", "tags": "Clients|Apollo",
				"custom.other_emails": "mhh@mit.example", "custom.other_phones": "+1 617 555 0100"},
			"jean@example.com": {"email": "jean@example.com", "first_name": "Jean", "last_name": "Sammet", "phone": "+19145550123"},
		}},
		// LinkedIn: a notes paragraph stands above the header.
		{"linkedin.csv", map[string]contactFields{
			"hedy@example.com": {"email": "hedy@example.com", "first_name": "Hedy", "last_name": "Lamarr", "company": "Frequency Hopping Inc.",
				"job_title": "Inventor", "website": "https://www.linkedin.com/in/hedy-lamarr"},
			"alan@example.com": {"email": "alan@example.com", "first_name": "Alan", "last_name": "Turing", "company": "Bletchley Park",
				"job_title": "Cryptanalyst, Hut 8", "website": "https://www.linkedin.com/in/alan-turing"},
		}},
		{"hubspot.csv", map[string]contactFields{
			"radia@example.com": {"email": "radia@example.com", "first_name": "Radia", "last_name": "Perlman", "company": "Spanning Tree Co",
				"job_title": "Network Architect", "phone": "4085550123", "street": "500 Protocol Way", "city": "San Jose",
				"region": "California", "postal_code": "95134", "country": "United States", "website": "spanningtree.example.com"},
			"barbara@example.com": {"email": "barbara@example.com", "first_name": "Barbara", "last_name": "Liskov", "company": "Substitution Labs",
				"job_title": "Professor", "street": "32 Vassar St", "city": "Cambridge", "region": "Massachusetts", "postal_code": "02139",
				"country": "United States"},
		}},
		// A Salesforce report: the totals and copyright lines are no contacts.
		{"salesforce.csv", map[string]contactFields{
			"frances@example.com": {"email": "frances@example.com", "first_name": "Frances", "last_name": "Allen", "company": "Optimizing Corp",
				"job_title": "VP Compilers", "phone": "9145550110", "street": "1101 Kitchawan Rd", "city": "Yorktown Heights", "region": "NY",
				"postal_code": "10598", "country": "USA"},
			"john@example.com": {"email": "john@example.com", "first_name": "John", "last_name": "Backus", "company": "Formula Translators",
				"job_title": "Chief Designer", "phone": "2125550199", "street": "590 Madison Ave", "city": "New York", "region": "NY",
				"postal_code": "10022", "country": "USA"},
		}},
		{"zoho.csv", map[string]contactFields{
			"adele@example.com": {"email": "adele@example.com", "first_name": "Adele", "last_name": "Goldberg", "company": "Smalltalk Systems",
				"job_title": "CEO", "phone": "+16505550155", "street": "3333 Coyote Hill Rd", "city": "Palo Alto", "region": "CA",
				"postal_code": "94304", "country": "United States", "tags": "Partner|VIP"},
		}},
		{"pipedrive.csv", map[string]contactFields{
			"evelyn@example.com": {"email": "evelyn@example.com", "first_name": "Evelyn", "last_name": "Berezin", "company": "Redactron",
				"job_title": "Founder", "phone": "+12125550177", "tags": "Hot lead",
				"custom.other_emails": "evelyn.home@example.org", "custom.other_phones": "+1 917 555 0101"},
		}},
		// Mailchimp's TAGS cell is a list of quoted names.
		{"mailchimp.csv", map[string]contactFields{
			"annie@example.com": {"email": "annie@example.com", "first_name": "Annie", "last_name": "Easley", "phone": "+12165550134",
				"region": "OH", "tags": "Customer|Newsletter"},
		}},
		// Shopify writes an apostrophe before phone numbers and zip codes.
		{"shopify.csv", map[string]contactFields{
			"mary@example.com": {"email": "mary@example.com", "first_name": "Mary", "last_name": "Jackson", "company": "Wind Tunnel Ltd",
				"phone": "+16175550111", "street": "21 Tunnel Rd, Unit 4", "city": "Boston", "region": "MA", "postal_code": "02134",
				"country": "US", "tags": "vip|newsletter"},
			"dorothy@example.com": {"email": "dorothy@example.com", "first_name": "Dorothy", "last_name": "Vaughan", "street": "7 Fortran Ave",
				"city": "Hampton", "region": "VA", "postal_code": "23666", "country": "US"},
		}},
		{"brevo.csv", map[string]contactFields{
			"mae@example.com": {"email": "mae@example.com", "first_name": "Mae", "last_name": "Jemison", "phone": "+33612345678",
				"company": "Orbit SAS", "job_title": "Astronaut", "street": "10 rue de la Paix", "city": "Paris", "postal_code": "75002",
				"country": "France"},
		}},
		// An iPhone's vCard: the preferred email and phone first, the
		// others kept; the embedded photo is skipped.
		{"apple.vcf", map[string]contactFields{
			"ada@example.com": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines Ltd",
				"job_title": "Mathematician", "phone": "+442079460958", "street": "12 St James's Square", "city": "London",
				"postal_code": "SW1Y 4JH", "country": "United Kingdom", "website": "https://ada.example.com", "tags": "VIP|Friends",
				"custom.other_emails": "ada.home@example.org", "custom.other_phones": "+44 20 7946 0000"},
			"grace@example.com": {"email": "grace@example.com", "first_name": "Grace", "last_name": "Hopper", "company": "US Navy",
				"phone": "+12025550143"},
		}},
		// Eventbrite: the attendee gave a home address and no work one.
		{"eventbrite.csv", map[string]contactFields{
			"shirley@example.com": {"email": "shirley@example.com", "first_name": "Shirley", "last_name": "Jackson", "company": "Institute of Tech",
				"job_title": "President", "phone": "+15185550123", "street": "8 Physics Lane", "city": "Troy", "region": "NY",
				"postal_code": "12180", "country": "US"},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, filepath.Ext(tt.file)), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b, err := os.ReadFile(filepath.Join("testdata", "layouts", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			j := e.Import(t, tt.file, string(b), jobs.Options{})
			if j.Status != jobs.StatusCompleted || j.ErrorCount != 0 || j.CreatedCount != len(tt.want) {
				t.Fatalf("%s: created %d, errors %d %s; want %d created", j.Status, j.CreatedCount, j.ErrorCount, j.Errors, len(tt.want))
			}
			live := e.live(t)
			for email, want := range tt.want {
				if got := fieldsOf(live[email]); !reflect.DeepEqual(got, want) {
					t.Errorf("%s:\n got %v\nwant %v", email, got, want)
				}
			}
		})
	}
}

// An Excel report: a title and a blank row above the header, a totals row
// under the data. Neither is a contact nor a bad row.
func TestExcelReportWithTitleAndTotals(t *testing.T) {
	t.Parallel()
	f := excelize.NewFile()
	rows := [][]any{
		{"Customer list – exported 2024-03-01"},
		{},
		{"Email", "Name", "Company", "Orders"},
		{"ada@example.com", "Ada Lovelace", "Engines", 3},
		{"bob@example.com", "Bob Noyce", "Chips", 2},
		{},
		{"Total", nil, nil, 5},
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	j := e.Import(t, "report.xlsx", buf.String(), jobs.Options{})
	if j.Status != jobs.StatusCompleted || *j.TotalRows != 2 || j.CreatedCount != 2 || j.ErrorCount != 0 {
		t.Fatalf("%s total %v created %d errors %d %s", j.Status, *j.TotalRows, j.CreatedCount, j.ErrorCount, j.Errors)
	}
	got := fieldsOf(e.live(t)["bob@example.com"])
	want := contactFields{"email": "bob@example.com", "first_name": "Bob", "last_name": "Noyce", "company": "Chips"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The error report is opened in a spreadsheet: a value that would run as a
// formula there is made inert, unless the import asked for raw values.
func TestErrorReportIsSpreadsheetSafe(t *testing.T) {
	t.Parallel()
	content := "email,name\n=HYPERLINK(\"http://x.example\";\"x\"),@SUM(A1)\nada@example.com,+15551234567\n"
	for _, tt := range []struct {
		name string
		raw  bool
		want string
	}{
		{"Safe", false, `"'=HYPERLINK(""http://x.example"";""x"")"`},
		{"Raw", true, `"=HYPERLINK(""http://x.example"";""x"")"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			job := e.NewJob(t, "f.csv", content, nil, jobs.Options{RawErrorReport: tt.raw})
			res, err := importer.Prepare(context.Background(), e.Deps, e.Tenant, job)
			if err != nil {
				t.Fatal(err)
			}
			report := e.object(t, res.ErrorReportKey)
			line := strings.Split(report, "\n")[1]
			if !strings.Contains(line, tt.want) || tt.raw == strings.Contains(line, "'@SUM") {
				t.Fatalf("report line %q, want it to hold %s", line, tt.want)
			}
		})
	}
}
