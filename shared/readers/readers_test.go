package readers_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/readers"
)

type result struct {
	info    readers.Info
	header  []string
	records []readers.Record
}

func readAll(t testing.TB, r io.Reader, name string, opts readers.Options) (result, error) {
	t.Helper()
	rd, err := readers.Open(r, name, opts)
	if err != nil {
		return result{}, err
	}
	defer rd.Close()
	res := result{info: rd.Info(), header: rd.Header()}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return res, nil
		}
		if err != nil {
			return res, err
		}
		res.records = append(res.records, rec)
	}
}

func readFile(t testing.TB, name string, opts readers.Options) (result, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readAll(t, f, name, opts)
}

func values(res result) [][]string {
	var out [][]string
	for _, r := range res.records {
		out = append(out, r.Values)
	}
	return out
}

func TestReadGoodFiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		info     readers.Info
		header   []string
		values   [][]string
		firstRow int
	}{
		// Quoted fields hold delimiters, doubled quotes and CRLF line breaks,
		// kept byte for byte.
		{"comma-crlf.csv", readers.Info{FileType: "csv", Encoding: "utf-8", Delimiter: ","},
			[]string{"Email", "First Name", "Notes"},
			[][]string{{"ada@example.com", "Ada", `said "hi", then left`}, {"bob@example.com", "Bob", "line one\r\nline two"}}, 2},
		// A semicolon file (European Excel) with a semicolon inside quotes.
		{"semicolon.csv", readers.Info{FileType: "csv", Encoding: "utf-8", Delimiter: ";"},
			[]string{"E-mail", "Vorname", "Firma"},
			[][]string{{"ada@example.com", "Ada", "Acme; Inc"}, {"bob@example.com", "Bob", "Bobco"}}, 2},
		{"tab.tsv", readers.Info{FileType: "csv", Encoding: "utf-8", Delimiter: "\t"},
			[]string{"email", "name", "city"}, [][]string{{"ada@example.com", "Ada", "Paris"}}, 2},
		// Leading zeros survive: values stay text.
		{"pipe.csv", readers.Info{FileType: "csv", Encoding: "utf-8", Delimiter: "|"},
			[]string{"email", "name", "zip"}, [][]string{{"ada@example.com", "Ada", "02134"}}, 2},
		{"bom-utf8.csv", readers.Info{FileType: "csv", Encoding: "utf-8-bom", Delimiter: ","},
			[]string{"Email", "Prénom"}, [][]string{{"ada@example.com", "Zoë"}}, 2},
		{"utf16le-bom.csv", readers.Info{FileType: "csv", Encoding: "utf-16le", Delimiter: ","},
			[]string{"Email", "Prénom"}, [][]string{{"ada@example.com", "Zoë"}}, 2},
		{"utf16be-bom.csv", readers.Info{FileType: "csv", Encoding: "utf-16be", Delimiter: ","},
			[]string{"Email", "Prénom"}, [][]string{{"ada@example.com", "Zoë"}}, 2},
		// Bytes that are not UTF-8 fall back to Windows-1252, curly quotes included.
		{"windows1252.csv", readers.Info{FileType: "csv", Encoding: "windows-1252", Delimiter: ","},
			[]string{"Email", "Prénom", "Société"}, [][]string{{"ada@example.com", "Zoë", "Café “Chez Nous”"}}, 2},
		// Blank lines and rows of empty cells are not rows; numbering follows
		// the file as a spreadsheet shows it (the blank line is row 2).
		{"blank-rows.csv", readers.Info{FileType: "csv", Encoding: "utf-8", Delimiter: ","},
			[]string{"email", "name"}, [][]string{{"ada@example.com", "Ada"}, {"bob@example.com", "Bob"}}, 3},
		// A quote inside an unquoted value is a character, as Excel, Google
		// Sheets, Python and Papa Parse read it.
		{"bare-quote.csv", readers.Info{FileType: "csv", Encoding: "utf-8", Delimiter: ","},
			[]string{"email", "name"}, [][]string{{"ada@example.com", `Ada "The Countess" Lovelace`}}, 2},
		{"array.json", readers.Info{FileType: "json", Encoding: "utf-8"},
			[]string{"email", "name", "age", "vip", "zip", "company", "note"},
			[][]string{{"ada@example.com", "Ada", "36", "true", "02134", "", ""}, {"bob@example.com", "", "", "", "", "Bobco", ""}}, 1},
		{"lines.ndjson", readers.Info{FileType: "json", Encoding: "utf-8"},
			[]string{"email", "name"}, [][]string{{"ada@example.com", "Ada"}, {"bob@example.com", "Bob"}}, 1},
		// Nested objects become dotted columns; lists of scalars are joined.
		{"nested.json", readers.Info{FileType: "json", Encoding: "utf-8"},
			[]string{"email", "address.city", "address.geo.lat", "tags"},
			[][]string{{"ada@example.com", "Paris", "48.8", "vip, beta"}}, 1},
		// Inline strings from a streaming writer.
		{"streamed.xlsx", readers.Info{FileType: "xlsx", Encoding: "utf-8", Sheet: "Sheet1"},
			[]string{"email", "company"}, [][]string{{"chloe@example.com", "Ünïcode GmbH"}}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			res, err := readFile(t, tt.file, readers.Options{})
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if got := (readers.Info{FileType: res.info.FileType, Encoding: res.info.Encoding, Delimiter: res.info.Delimiter,
				Sheet: res.info.Sheet}); !reflect.DeepEqual(got, tt.info) {
				t.Errorf("info = %+v, want %+v", got, tt.info)
			}
			if !reflect.DeepEqual(res.header, tt.header) {
				t.Errorf("header = %q, want %q", res.header, tt.header)
			}
			if got := values(res); !reflect.DeepEqual(got, tt.values) {
				t.Errorf("values = %q, want %q", got, tt.values)
			}
			for _, r := range res.records {
				if len(r.Problems) > 0 {
					t.Errorf("row %d: unexpected problems %+v", r.Row, r.Problems)
				}
			}
			if res.records[0].Row != tt.firstRow {
				t.Errorf("first row number = %d, want %d", res.records[0].Row, tt.firstRow)
			}
		})
	}
}

func TestReadXLSX(t *testing.T) {
	t.Parallel()
	res, err := readFile(t, "contacts.xlsx", readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The hidden first sheet is skipped.
	if res.info.Sheet != "Contacts" {
		t.Fatalf("sheet = %q, want the first visible one, Contacts", res.info.Sheet)
	}
	want := [][]string{
		// Phone numbers keep every digit; dates come out ISO whatever their
		// format (dd/mm/yyyy custom, built-in 14); formulas give their cached
		// value; text zips keep their zeros.
		{"ada@example.com", "Ada", "15551234567", "2024-03-04", "2024-03-05", "15", "02134"},
		{"bob@example.com", "Bob", "4930123456", "2023-03-15", "2023-03-16", "15", "00501"},
	}
	if got := values(res); !reflect.DeepEqual(got, want) {
		t.Errorf("values = %q\nwant %q", got, want)
	}
	// Row numbers are the sheet's: the blank row 3 is skipped, not renumbered.
	if res.records[0].Row != 2 || res.records[1].Row != 4 {
		t.Errorf("rows = %d, %d, want 2, 4", res.records[0].Row, res.records[1].Row)
	}

	t.Run("NamedSheet", func(t *testing.T) {
		t.Parallel()
		res, err := readFile(t, "contacts.xlsx", readers.Options{Sheet: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		if res.info.Sheet != "Secret" || res.header[0] != "do not import" {
			t.Fatalf("named sheet read %q with header %q", res.info.Sheet, res.header)
		}
	})
	t.Run("UnknownSheet", func(t *testing.T) {
		t.Parallel()
		_, err := readFile(t, "contacts.xlsx", readers.Options{Sheet: "Nope"})
		wantFileError(t, err, `no sheet named "Nope"; its sheets are: Secret, Contacts`)
	})
	// A workbook expanding past the limit is refused before it is inflated.
	t.Run("UnzipLimit", func(t *testing.T) {
		t.Parallel()
		_, err := readFile(t, "contacts.xlsx", readers.Options{Limits: readers.Limits{MaxUnzippedBytes: 4096}})
		wantFileError(t, err, "expands to")
	})
	t.Run("PartLimit", func(t *testing.T) {
		t.Parallel()
		_, err := readFile(t, "contacts.xlsx", readers.Options{Limits: readers.Limits{MaxXLSXPartBytes: 1024}})
		wantFileError(t, err, "expands to")
	})
}

func TestRowProblems(t *testing.T) {
	t.Parallel()
	t.Run("RaggedRows", func(t *testing.T) {
		t.Parallel()
		res, err := readFile(t, "ragged.csv", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[int]string{}
		for _, r := range res.records {
			if len(r.Problems) > 0 {
				got[r.Row] = r.Problems[0].Message
			}
		}
		// Short and long rows are row errors; stray trailing delimiters are not.
		want := map[int]string{
			3: "row has 2 values but the header has 3 columns",
			4: "row has 4 values but the header has 3 columns",
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("problems = %v, want %v", got, want)
		}
		if len(res.records) != 4 {
			t.Fatalf("read %d rows, want all 4", len(res.records))
		}
	})
	t.Run("LongCell", func(t *testing.T) {
		t.Parallel()
		in := "email,notes\nada@example.com," + strings.Repeat("x", 100) + "\nbob@example.com,short\n"
		res, err := readAll(t, strings.NewReader(in), "f.csv", readers.Options{Limits: readers.Limits{MaxCellBytes: 50}})
		if err != nil {
			t.Fatal(err)
		}
		p := res.records[0].Problems
		if len(p) != 1 || p[0].Column != "notes" || !strings.Contains(p[0].Message, "100 bytes long, more than the limit of 50") {
			t.Fatalf("problems = %+v", p)
		}
		if len(res.records[1].Problems) != 0 {
			t.Fatalf("the next row is fine, got %+v", res.records[1].Problems)
		}
	})
	// A short file with a stray byte is Windows-1252, not UTF-8.
	t.Run("StrayByteMeansWindows1252", func(t *testing.T) {
		t.Parallel()
		res, err := readFile(t, "mixed-utf8.csv", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.info.Encoding != "windows-1252" || res.records[1].Values[1] != "Bÿob" {
			t.Fatalf("encoding %s, value %q", res.info.Encoding, res.records[1].Values[1])
		}
	})
	// A UTF-8 file with one bad byte later on: that row is an error, the rest reads.
	t.Run("UndecodableBytes", func(t *testing.T) {
		t.Parallel()
		// The bad byte comes after the part the encoding is detected from.
		in := "email,name\n" + strings.Repeat("ada@example.com,Zoë\n", 4000) + "bob@example.com,B\xffob\n"
		res, err := readAll(t, strings.NewReader(in), "f.csv", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.info.Encoding != "utf-8" {
			t.Fatalf("encoding = %s, want utf-8", res.info.Encoding)
		}
		p := res.records[4000].Problems
		if len(p) != 1 || p[0].Column != "name" || !strings.Contains(p[0].Message, "not valid utf-8") {
			t.Fatalf("problems = %+v", p)
		}
	})
	t.Run("JSONElementsThatAreNotObjects", func(t *testing.T) {
		t.Parallel()
		res, err := readFile(t, "not-objects.json", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, r := range res.records {
			for _, p := range r.Problems {
				msgs = append(msgs, p.Column+": "+p.Message)
			}
		}
		want := []string{": element is a number, not an object", ": element is a string, not an object",
			": element is a list, not an object", "list: a list of objects or lists cannot be imported; flatten it first"}
		if !reflect.DeepEqual(msgs, want) {
			t.Fatalf("problems = %q, want %q", msgs, want)
		}
		if len(res.records) != 5 {
			t.Fatalf("read %d rows, want 5", len(res.records))
		}
	})
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		opts readers.Options
		want string
	}{
		{"UnterminatedQuote", "unbalanced-quote.csv", readers.Options{}, "line 3: a quoted value starting here is never closed"},
		{"Empty", "empty.csv", readers.Options{}, "the file is empty"},
		{"Binary", "binary.csv", readers.Options{}, "the file is binary"},
		{"TruncatedJSON", "truncated.json", readers.Options{}, "the JSON ends in the middle of element 2; is the file truncated?"},
		{"JSONNamedButCSV", "not-json.json", readers.Options{}, `"not-json.json" was declared as json but its content is delimited text (csv)`},
		{"CSVNamedXLSX", "csv-named-xlsx.xlsx", readers.Options{}, "declared as xlsx but its content is delimited text"},
		{"NotAWorkbook", "not-a-workbook.xlsx", readers.Options{}, "a zip archive but not an Excel workbook"},
		{"TruncatedXLSX", "truncated.xlsx", readers.Options{}, "not a valid xlsx workbook"},
		{"DeclaredTypeWins", "comma-crlf.csv", readers.Options{Type: readers.JSON}, "declared as json"},
		{"TooManyColumns", "comma-crlf.csv", readers.Options{Limits: readers.Limits{MaxColumns: 2}}, "the header has 3 columns, more than the limit of 2"},
		{"TooLarge", "comma-crlf.csv", readers.Options{Limits: readers.Limits{MaxFileBytes: 20}}, "larger than the 20 bytes limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := readFile(t, tt.file, tt.opts)
			wantFileError(t, err, tt.want)
		})
	}

	// A CSV whose first header starts with a bracket is not JSON.
	t.Run("BracketHeaderIsCSV", func(t *testing.T) {
		t.Parallel()
		res, err := readAll(t, strings.NewReader("[Email],[Name]\na@b.co,Ada\n"), "f.csv", readers.Options{})
		if err != nil || res.info.FileType != readers.CSV || res.header[0] != "[Email]" {
			t.Fatalf("read %+v, %v", res, err)
		}
	})
	t.Run("UnknownExtension", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader("a,b\n1,2\n"), "contacts.pdf", readers.Options{})
		wantFileError(t, err, `unsupported file type ".pdf"`)
	})
	t.Run("LegacyXLS", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, bytes.NewReader([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}), "old.xls", readers.Options{})
		wantFileError(t, err, "legacy Excel (.xls)")
	})
	// A file with no line breaks cannot make the parser buffer it whole.
	t.Run("EndlessLine", func(t *testing.T) {
		t.Parallel()
		in := "email,name\n" + strings.Repeat("x", 5000)
		_, err := readAll(t, strings.NewReader(in), "f.csv", readers.Options{Limits: readers.Limits{MaxLineBytes: 1000}})
		wantFileError(t, err, "line 2: the line is longer than 1000 bytes")
		if e, _ := apperr.As(err); e.Details["line"] != 2 {
			t.Errorf("details %v, want line 2", e.Details)
		}
	})
	t.Run("DeepJSON", func(t *testing.T) {
		t.Parallel()
		in := `[{"email":"a@b.c","x":` + strings.Repeat(`{"y":`, 40) + `1` + strings.Repeat(`}`, 40) + `}]`
		_, err := readAll(t, strings.NewReader(in), "f.json", readers.Options{})
		wantFileError(t, err, "element 1 is nested more than 16 levels deep")
	})
	t.Run("JSONTrailingGarbage", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader(`[{"email":"a@b.c"}] junk`), "f.json", readers.Options{})
		wantFileError(t, err, "unexpected content after the closing ]")
	})
	t.Run("JSONSyntaxErrorNamesLine", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader("[\n{\"email\":\"a@b.c\"},\n{\"email\" \"x\"}]"), "f.json", readers.Options{})
		wantFileError(t, err, "line 3: invalid JSON in element 2")
	})
}

func wantFileError(t testing.TB, err error, substr string) {
	t.Helper()
	fe, ok := apperr.As(err)
	if !ok || fe.Code != apperr.Invalid {
		t.Fatalf("got %v (%T), want an apperr.Invalid error containing %q", err, err, substr)
	}
	if !strings.Contains(fe.Error(), substr) {
		t.Fatalf("error %q does not contain %q", fe.Error(), substr)
	}
}

// A large CSV streams through a pipe, which cannot be re-read or spooled
// whole, with every row numbered. (Memory figures are make bench's job.)
func TestStreamsLargeCSV(t *testing.T) {
	t.Parallel()
	pr, pw := io.Pipe()
	const n = 200_000
	go func() {
		pw.Write([]byte("email,name\n"))
		for i := 0; i < n; i++ {
			pw.Write([]byte("user" + strings.Repeat("x", i%7) + "@example.com,Name\n"))
		}
		pw.Close()
	}()
	res, err := readAll(t, pr, "big.csv", readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.records) != n || res.records[n-1].Row != n+1 {
		t.Fatalf("read %d rows, last row %d", len(res.records), res.records[len(res.records)-1].Row)
	}
}

// Files that readers elsewhere read wrong without a word: each comes back
// as a spreadsheet shows it.
func TestReadsWhatSpreadsheetsShow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		header   []string
		values   [][]string
		firstRow int
	}{
		// Old Mac Excel's "CSV (Macintosh)": lines end in CR alone.
		{"CROnlyLineEnds", "email,name\rada@example.com,Ada\rbob@example.com,Bob\r",
			[]string{"email", "name"}, [][]string{{"ada@example.com", "Ada"}, {"bob@example.com", "Bob"}}, 2},
		{"QuotesInsideUnquotedValues", "email,name,height,where\nbob@example.com,Robert \"Bob\" Smith,5'11\",37°36'37.8\"N\n",
			[]string{"email", "name", "height", "where"}, [][]string{{"bob@example.com", `Robert "Bob" Smith`, `5'11"`, `37°36'37.8"N`}}, 2},
		{"CRLFInsideQuotesKept", "email,notes\r\nada@example.com,\"one\r\ntwo\"\r\n",
			[]string{"email", "notes"}, [][]string{{"ada@example.com", "one\r\ntwo"}}, 2},
		// "First non-blank row": a row of delimiters only is blank.
		{"DelimitersOnlyFirstLine", ",,,\nemail,name\nada@example.com,Ada\n",
			[]string{"email", "name"}, [][]string{{"ada@example.com", "Ada"}}, 3},
		// Excel's sep= line names the delimiter and is no row.
		{"SepDirective", "sep=;\nemail;name\nada@example.com;Ada, Countess\n",
			[]string{"email", "name"}, [][]string{{"ada@example.com", "Ada, Countess"}}, 2},
		// A notes paragraph above the header (LinkedIn's Connections.csv).
		{"NotesAboveHeader", "Notes:\n\"When exporting your connection data, you may notice that some of the email addresses are missing.\"\n\n" +
			"First Name,Last Name,URL,Email Address,Company,Position,Connected On\n" +
			"Ada,Lovelace,https://www.linkedin.com/in/ada,ada@example.com,Engines,Analyst,15 Mar 2023\n",
			[]string{"First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"},
			[][]string{{"Ada", "Lovelace", "https://www.linkedin.com/in/ada", "ada@example.com", "Engines", "Analyst", "15 Mar 2023"}}, 5},
		// A report's title row, and its totals and copyright after the data.
		{"TitleAndFooter", "Contacts report – exported 2024-03-01\n\nEmail,First Name,Deals\nada@example.com,Ada,2\nbob@example.com,Bob,1\n" +
			"\nGrand Totals (2 records),,3\n\nCopyright (c) 2000-2024 salesforce.com, inc. All rights reserved.\nConfidential Information - Do Not Distribute\nAcme Inc.\n",
			[]string{"Email", "First Name", "Deals"}, [][]string{{"ada@example.com", "Ada", "2"}, {"bob@example.com", "Bob", "1"}}, 4},
		// A footer-like row followed by contacts was no footer.
		{"TotalThenMoreContacts", "email,name\nada@example.com,Ada\nTotal,\nbob@example.com,Bob\n",
			[]string{"email", "name"}, [][]string{{"ada@example.com", "Ada"}, {"Total", ""}, {"bob@example.com", "Bob"}}, 2},
	}
	known := func(s string) bool {
		switch strings.ToLower(s) {
		case "email", "email address", "first name", "last name", "company", "position":
			return true
		}
		return false
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := readAll(t, strings.NewReader(tt.in), "f.csv", readers.Options{KnownHeader: known})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.header, tt.header) {
				t.Errorf("header = %q, want %q", res.header, tt.header)
			}
			if got := values(res); !reflect.DeepEqual(got, tt.values) {
				t.Errorf("values = %q, want %q", got, tt.values)
			}
			if len(res.records) > 0 && res.records[0].Row != tt.firstRow {
				t.Errorf("first row number = %d, want %d", res.records[0].Row, tt.firstRow)
			}
		})
	}

	t.Run("SkippedRowsAreReported", func(t *testing.T) {
		t.Parallel()
		in := "Contacts\n\nEmail,Name\nada@example.com,Ada\nGrand Totals (1 records),\n"
		rd, err := readers.Open(strings.NewReader(in), "f.csv", readers.Options{KnownHeader: known})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := rd.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		info := rd.Info()
		want := []readers.Skipped{{Row: 1, Text: "Contacts", Why: "above the header"}, {Row: 5, Text: "Grand Totals (1 records)", Why: "footer after the data"}}
		if info.HeaderRow != 3 || !reflect.DeepEqual(info.Skipped, want) {
			t.Fatalf("header row %d, skipped %+v", info.HeaderRow, info.Skipped)
		}
	})

	t.Run("HeaderRowOption", func(t *testing.T) {
		t.Parallel()
		res, err := readAll(t, strings.NewReader("a,b\nemail,name\nada@example.com,Ada\n"), "f.csv", readers.Options{HeaderRow: 2})
		if err != nil || !reflect.DeepEqual(res.header, []string{"email", "name"}) || len(res.records) != 1 {
			t.Fatalf("header %q, %d rows, %v", res.header, len(res.records), err)
		}
		_, err = readAll(t, strings.NewReader("email\na@b.co\n"), "f.csv", readers.Options{HeaderRow: 40})
		wantFileError(t, err, "header_row 40")
	})

	// Names written in UTF-8 and one Windows-1252 byte: the file is UTF-8,
	// and only the row with the stray byte is an error.
	t.Run("OneStrayByteAmongUTF8", func(t *testing.T) {
		t.Parallel()
		in := "email,name\njose@example.com,José\nzoe@example.com,Zoë\nbad@example.com,Caf\xe9\n"
		res, err := readAll(t, strings.NewReader(in), "f.csv", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.info.Encoding != "utf-8" || !res.info.EncodingGuessed || res.records[0].Values[1] != "José" {
			t.Fatalf("encoding %s, name %q", res.info.Encoding, res.records[0].Values[1])
		}
		if p := res.records[2].Problems; len(p) != 1 || !strings.Contains(p[0].Message, "not valid utf-8") {
			t.Fatalf("row with the stray byte: %+v", p)
		}
	})

	// A quoted value of any length is cut at the limit while it is read,
	// never held whole; its row is an error and the next one reads on.
	t.Run("HugeQuotedValueIsNotHeld", func(t *testing.T) {
		t.Parallel()
		big := strings.Repeat("a\n", 1<<20)
		in := "email,notes\nada@example.com,\"" + big + "\"\nbob@example.com,ok\n"
		res, err := readAll(t, strings.NewReader(in), "f.csv", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := res.records[0].Problems
		if len(p) != 1 || !strings.Contains(p[0].Message, "2097152 bytes long") || res.records[0].Values[1] != "" {
			t.Fatalf("problems %+v", p)
		}
		if res.records[1].Row != 3 || res.records[1].Values[0] != "bob@example.com" {
			t.Fatalf("next row %d %q", res.records[1].Row, res.records[1].Values)
		}
	})

	// A record past the most values one may hold keeps no more of them, and
	// its error still counts them all.
	t.Run("TooManyValuesAreCountedNotHeld", func(t *testing.T) {
		t.Parallel()
		in := "email,name\nada@example.com,Ada" + strings.Repeat(",x", 28) + "\n"
		res, err := readAll(t, strings.NewReader(in), "f.csv", readers.Options{Limits: readers.Limits{MaxColumns: 2}})
		if err != nil {
			t.Fatal(err)
		}
		if p := res.records[0].Problems; len(p) != 1 || p[0].Message != "row has 30 values but the header has 2 columns" {
			t.Fatalf("problems %+v", p)
		}
	})
	t.Run("StrayCharacterAfterMultilineQuote", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader("email,notes\nada@example.com,\"one\ntwo\"x\nbob@example.com,b\n"), "f.csv", readers.Options{})
		wantFileError(t, err, `line 3: unexpected 'x' right after the closing quote of a quoted value (the value opened on line 2)`)
	})
}

// vCard 2.1, 3.0 and 4.0 as phones and address books write them.
func TestReadVCard(t *testing.T) {
	t.Parallel()
	card := func(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }
	t.Run("Versions", func(t *testing.T) {
		t.Parallel()
		in := card("BEGIN:VCARD", "VERSION:2.1",
			"N;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen",
			"EMAIL;INTERNET:j.home@example.de", "EMAIL;PREF;INTERNET:juergen@example.de",
			"ADR;WORK;ENCODING=QUOTED-PRINTABLE:;;Stra=DFe des 17. Juni 1;Berlin;;10623;Deutschland",
			"NOTE;ENCODING=QUOTED-PRINTABLE:Erste Zeile=0D=0A=", "Zweite Zeile", "END:VCARD",
			"BEGIN:VCARD", "VERSION:4.0", "FN:Zo\u00eb Unal", "N:Unal;Zo\u00eb;;;",
			"EMAIL;TYPE=home:zoe.home@example.com", "EMAIL;TYPE=work;PREF=1:zoe@example.com",
			"ORG:Caf\u00e9 Soci\u00e9t\u00e9\\, SA;Kitchen", "item1.TEL;VALUE=uri;TYPE=cell:tel:+33-6-12-34-56-78",
			"CATEGORIES:Clients,VIP", "NOTE:a very long note that is folded",
			"  across two lines", "END:VCARD")
		res, err := readAll(t, strings.NewReader(in), "contacts.vcf", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.info.FileType != readers.VCF || len(res.records) != 2 || res.records[1].Row != 2 {
			t.Fatalf("info %+v, %d records", res.info, len(res.records))
		}
		get := func(r readers.Record, col string) string {
			return r.Values[slices.Index(res.header, col)]
		}
		a, z := res.records[0], res.records[1]
		for _, c := range []struct{ got, want string }{
			{get(a, "Last Name"), "Müller"}, {get(a, "First Name"), "Jürgen"},
			{get(a, "Email"), "juergen@example.de ::: j.home@example.de"},
			{get(a, "Street"), "Straße des 17. Juni 1"}, {get(a, "City"), "Berlin"}, {get(a, "Postal Code"), "10623"},
			{get(a, "Note"), "Erste Zeile\r\nZweite Zeile"},
			{get(z, "Full Name"), "Zoë Unal"}, {get(z, "Email"), "zoe@example.com ::: zoe.home@example.com"},
			{get(z, "Organization"), "Café Société, SA"}, {get(z, "Phone"), "+33-6-12-34-56-78"},
			{get(z, "Categories"), "Clients, VIP"}, {get(z, "Note"), "a very long note that is folded across two lines"},
		} {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		}
		for _, r := range res.records {
			if len(r.Problems) > 0 {
				t.Errorf("card %d: %+v", r.Row, r.Problems)
			}
		}
	})
	t.Run("CardNeverClosed", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader(card("BEGIN:VCARD", "VERSION:3.0", "FN:Ada", "EMAIL:ada@example.com")), "c.vcf", readers.Options{})
		wantFileError(t, err, "card 1 starting here is never closed")
	})
	t.Run("DeclaredVCFButCSV", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader("email\na@b.co\n"), "c.vcf", readers.Options{})
		wantFileError(t, err, "declared as vcf but its content is delimited text")
	})
}

// workbook builds an xlsx in memory: rows of values, then styles given as
// number formats per cell ("B2": "0.00E+00" or a built-in id as "#11").
func workbook(t *testing.T, rows [][]any, formats map[string]string, edit func(*excelize.File)) []byte {
	t.Helper()
	f := excelize.NewFile()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	for cell, code := range formats {
		st := &excelize.Style{CustomNumFmt: &code}
		if id, ok := strings.CutPrefix(code, "#"); ok {
			n, _ := strconv.Atoi(id)
			st = &excelize.Style{NumFmt: n}
		}
		s, err := f.NewStyle(st)
		if err != nil {
			t.Fatal(err)
		}
		f.SetCellStyle("Sheet1", cell, cell, s)
	}
	if edit != nil {
		edit(f)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A cell's value is the number stored, never a rounded display: Excel shows
// 12345.6789 formatted 0.00E+00 as 1.23E+04, which must not become 12300.
func TestXLSXValuesAreTheStoredNumbers(t *testing.T) {
	t.Parallel()
	b := workbook(t, [][]any{
		{"email", "sci", "phone", "rounded", "money", "zip", "percent"},
		{"a@b.co", 12345.6789, 15551234567, 12345.6789, 1234.5, 2134, 0.25},
	}, map[string]string{"B2": "0.00E+00", "C2": "#11", "D2": "0.00", "E2": `"$"#,##0`, "F2": "00000", "G2": "#9"}, nil)
	res, err := readAll(t, bytes.NewReader(b), "f.xlsx", readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A zero-padding format adds no digit that is not there: its zeros stay.
	want := []string{"a@b.co", "12345.6789", "15551234567", "12345.6789", "1234.5", "02134", "0.25"}
	if got := res.records[0].Values; !reflect.DeepEqual(got, want) {
		t.Fatalf("values %q, want %q", got, want)
	}
}

func TestXLSXDetails(t *testing.T) {
	t.Parallel()
	// Dates of a workbook in the 1904 date system (old Mac Excel).
	t.Run("Date1904", func(t *testing.T) {
		t.Parallel()
		// 2024-03-01 is day 43890 counted from 1904 (45352 from 1900).
		b := workbook(t, [][]any{{"email", "since"}, {"a@b.co", 43890}},
			map[string]string{"B2": "#14"}, func(f *excelize.File) {
				yes := true
				f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes})
			})
		res, err := readAll(t, bytes.NewReader(b), "f.xlsx", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.records[0].Values[1]; got != "2024-03-01" {
			t.Fatalf("date %q, want 2024-03-01", got)
		}
	})
	// OOXML writes control characters as _xHHHH_ escapes.
	t.Run("EscapedControlCharacters", func(t *testing.T) {
		t.Parallel()
		b := workbook(t, [][]any{{"email", "notes"}, {"a@b.co", "PLACEHOLDER"}}, nil, nil)
		b = rewriteZipPart(t, b, "xl/sharedStrings.xml", func(s string) string {
			return strings.Replace(s, "PLACEHOLDER", "one_x000D_&#10;two and _x005F_x000D_ kept", 1)
		})
		res, err := readAll(t, bytes.NewReader(b), "f.xlsx", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.records[0].Values[1]; got != "one\r\ntwo and _x000D_ kept" {
			t.Fatalf("value %q", got)
		}
	})
}

// A workbook whose parts live outside xl/, found through the package's
// relationships as Excel finds them.
func TestXLSXWorkbookOutsideXL(t *testing.T) {
	t.Parallel()
	b := workbook(t, [][]any{{"email", "since"}, {"a@b.co", 45352}}, map[string]string{"B2": "#14"}, nil)
	moved := rewriteZip(t, b, func(name string, data []byte) (string, []byte) {
		if rest, ok := strings.CutPrefix(name, "xl/"); ok {
			name = "book/" + rest
		}
		if name == "_rels/.rels" || name == "[Content_Types].xml" {
			data = []byte(strings.ReplaceAll(string(data), "xl/", "book/"))
		}
		return name, data
	})
	res, err := readAll(t, bytes.NewReader(moved), "moved.xlsx", readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.records) != 1 || !reflect.DeepEqual(res.records[0].Values, []string{"a@b.co", "2024-03-01"}) {
		t.Fatalf("header %q, rows %+v", res.header, res.records)
	}
}

// Shared strings: entity references are decoded, and a cell pointing past
// the table is named as the damage it is, not read as an empty cell.
func TestXLSXSharedStrings(t *testing.T) {
	t.Parallel()
	b := workbook(t, [][]any{{"email", "company"}, {"a@b.co", "PLACEHOLDER"}}, nil, nil)
	t.Run("Entities", func(t *testing.T) {
		t.Parallel()
		res, err := readAll(t, bytes.NewReader(rewriteZipPart(t, b, "xl/sharedStrings.xml", func(s string) string {
			return strings.Replace(s, "PLACEHOLDER", "AT&amp;T &#233;t&#xE9; &lt;x&gt; &quot;q&quot; &apos;a&apos;", 1)
		})), "f.xlsx", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := res.records[0].Values[1]; got != `AT&T été <x> "q" 'a'` {
			t.Fatalf("value %q", got)
		}
	})
	t.Run("IndexPastTheTable", func(t *testing.T) {
		t.Parallel()
		damaged := rewriteZipPart(t, b, "xl/worksheets/sheet1.xml", func(s string) string {
			i := strings.Index(s, `<c r="B2"`)
			j := strings.Index(s[i:], "</c>") + i + 4
			return s[:i] + `<c r="B2" t="s"><v>999</v></c>` + s[j:]
		})
		_, err := readAll(t, bytes.NewReader(damaged), "f.xlsx", readers.Options{})
		wantFileError(t, err, "refers to shared text number 999, but the workbook holds only")
	})
}

// rewriteZipPart returns the archive with one part's text changed.
func rewriteZipPart(t *testing.T, b []byte, part string, change func(string) string) []byte {
	t.Helper()
	return rewriteZip(t, b, func(name string, data []byte) (string, []byte) {
		if name == part {
			data = []byte(change(string(data)))
		}
		return name, data
	})
}

// rewriteZip returns the archive with each part renamed or changed by edit.
func rewriteZip(t *testing.T, b []byte, edit func(name string, data []byte) (string, []byte)) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		name, data := edit(f.Name, data)
		w, _ := zw.Create(name)
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestJSONDetails(t *testing.T) {
	t.Parallel()
	// A stray } between NDJSON lines used to end the file in silence.
	t.Run("StrayBraceInNDJSON", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader("{\"email\":\"a@b.co\"}\n}\n{\"email\":\"c@d.co\"}\n"), "f.ndjson", readers.Options{})
		wantFileError(t, err, "line 2: unexpected")
	})
	// Invalid UTF-8 far into the file is a row error, not U+FFFD.
	t.Run("InvalidUTF8LateInFile", func(t *testing.T) {
		t.Parallel()
		in := "[" + strings.Repeat(`{"email":"ada@example.com","name":"Zoë"},`, 3000) + `{"email":"bob@example.com","name":"B` + "\xff" + `ob"}]`
		res, err := readAll(t, strings.NewReader(in), "f.json", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		last := res.records[len(res.records)-1]
		if len(last.Problems) != 1 || !strings.Contains(last.Problems[0].Message, "not valid utf-8") {
			t.Fatalf("last element: %+v", last.Problems)
		}
		if len(res.records[0].Problems) != 0 {
			t.Fatalf("first element: %+v", res.records[0].Problems)
		}
	})
	// A value of any length is cut at the limit while it is read, never
	// held; the element is a row error and the next one reads on.
	t.Run("HugeStringIsNotHeld", func(t *testing.T) {
		t.Parallel()
		big := strings.Repeat("é\\n\\\"", 1<<18) // 2 MiB of accents and escapes
		in := `[{"email":"a@b.co","notes":"` + big + `"},{"email":"c@d.co","notes":"ok"}]`
		res, err := readAll(t, strings.NewReader(in), "f.json", readers.Options{Limits: readers.Limits{MaxCellBytes: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		p := res.records[0].Problems
		if len(p) != 1 || !strings.Contains(p[0].Message, "longer than the limit of 1000 bytes") {
			t.Fatalf("problems %+v", p)
		}
		if len(res.records) != 2 || len(res.records[1].Problems) != 0 || res.records[1].Values[1] != "ok" {
			t.Fatalf("next element %+v", res.records[1])
		}
	})
	t.Run("LoneSurrogates", func(t *testing.T) {
		t.Parallel()
		in := `{"email":"a@b.co","name":"\ud83d\ude00 fine"}` + "\n" + `{"email":"c@d.co","name":"bad \ud800 here"}` + "\n" +
			`{"email":"e@f.co","name":"\udc00"}` + "\n" + `{"email":"g@h.co","name":"\\ud800 is text"}` + "\n"
		res, err := readAll(t, strings.NewReader(in), "f.ndjson", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var bad []int
		for _, r := range res.records {
			if len(r.Problems) > 0 {
				if !strings.Contains(r.Problems[0].Message, "lone UTF-16 surrogate") {
					t.Fatalf("row %d: %+v", r.Row, r.Problems)
				}
				bad = append(bad, r.Row)
			}
		}
		if !reflect.DeepEqual(bad, []int{2, 3}) || res.records[0].Values[1] != "😀 fine" {
			t.Fatalf("rows with problems %v, first name %q", bad, res.records[0].Values[1])
		}
	})
	t.Run("DuplicateKeys", func(t *testing.T) {
		t.Parallel()
		res, err := readAll(t, strings.NewReader(`[{"email":"a@b.co","name":"Ada","name":"Bob"}]`), "f.json", readers.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := res.records[0].Problems
		if len(p) != 1 || p[0].Column != "name" || !strings.Contains(p[0].Message, `"name" appears twice`) {
			t.Fatalf("problems %+v", p)
		}
	})
	t.Run("JSONButNotObjects", func(t *testing.T) {
		t.Parallel()
		_, err := readAll(t, strings.NewReader("[1, 2, 3]"), "f.json", readers.Options{})
		wantFileError(t, err, "is JSON but not an array of objects")
	})
}

// A header too wide or with a column name too long is refused, saying by
// how much: 10,000 columns are not reported as the 2,016 the scanner
// counted before it stopped, and a 1 MiB cell is no column name.
func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	wide := make([]string, 10000)
	for i := range wide {
		wide[i] = fmt.Sprintf("col%d", i)
	}
	for _, tt := range []struct{ name, file, want string }{
		{"TenThousandColumns", strings.Join(wide, ",") + "\na@b.co\n", "the header has more than 2016 columns, more than the limit of 500"},
		{"HugeColumnName", "email," + strings.Repeat("x", 1<<20) + "\na@b.co,v\n", "the name of column 2 is longer than 1024 bytes"},
		{"HugeJSONKey", `[{"email": "a@b.co", "` + strings.Repeat("k", 2000) + `": 1}]`, "a field name is 2000 bytes long"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := "f.csv"
			if strings.HasPrefix(tt.file, "[") {
				name = "f.json"
			}
			_, err := readers.Open(strings.NewReader(tt.file), name, readers.Options{TempDir: t.TempDir()})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want %q", err, tt.want)
			}
		})
	}
}

// Blank lines above the header do not make a file empty: the rows after
// them are read, numbered as the file numbers them.
func TestBlankLinesAboveTheHeader(t *testing.T) {
	t.Parallel()
	file := strings.Repeat("\n", 30) + strings.Repeat(",,\n", 5) + "email,name\na@b.co,Ada\n"
	r, err := readers.Open(strings.NewReader(file), "f.csv", readers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rec, err := r.Next()
	if err != nil || strings.Join(r.Header(), ",") != "email,name" || rec.Values[0] != "a@b.co" || rec.Row != 37 {
		t.Fatalf("header %q, record %+v, %v", r.Header(), rec, err)
	}
}
