package exporter

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// A sheet holds 1,048,576 rows; an xlsx export of more contacts goes on in
// further sheets, each with the header, and loses none.
func TestXLSXGoesOnInNewSheets(t *testing.T) {
	var rows [][]cell
	for i := 1; i <= 5; i++ {
		rows = append(rows, []cell{{s: fmt.Sprintf("user%d@example.com", i)}, {null: true}})
	}
	// A header and two contacts a sheet.
	f := writeXLSX(t, 3, []string{"email", "first_name"}, rows...)
	want := map[string][]string{
		"Contacts":   {"email", "user1@example.com", "user2@example.com"},
		"Contacts 2": {"email", "user3@example.com", "user4@example.com"},
		"Contacts 3": {"email", "user5@example.com"},
	}
	if got := f.GetSheetList(); len(got) != len(want) {
		t.Fatalf("sheets %v", got)
	}
	for sheet, emails := range want {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(emails) {
			t.Fatalf("%s has %d rows: %v", sheet, len(rows), rows)
		}
		for i, e := range emails {
			if rows[i][0] != e {
				t.Errorf("%s row %d: %q, want %q", sheet, i+1, rows[i][0], e)
			}
		}
	}
}

// Excel refuses a workbook with a cell over 32,767 characters.
func TestXLSXTextFitsACell(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", 40000)
	got := xlsxText(long)
	if n := utf8.RuneCountInString(got); n != maxXLSXCell || !strings.HasSuffix(got, "…") {
		t.Fatalf("%d characters", n)
	}
	if xlsxText("short") != "short" {
		t.Fatal("a short value changed")
	}
}

// What XML must escape is escaped, what it cannot carry is dropped, and a
// custom field's JSON number or boolean keeps its type.
func TestXLSXCells(t *testing.T) {
	t.Parallel()
	bad := "<b>Tom & Jerry</b>\x01\x7f ok" + string([]byte{0xff})
	f := writeXLSX(t, xlsxMaxRows, []string{"company", "seats", "vip"}, []cell{{s: bad}, {raw: []byte("12.5")}, {raw: []byte("true")}})
	if got, _ := f.GetCellValue("Contacts", "A2"); got != "<b>Tom & Jerry</b>\x7f ok\uFFFD" {
		t.Errorf("text %q", got)
	}
	if typ, _ := f.GetCellType("Contacts", "B2"); typ != excelize.CellTypeNumber {
		t.Errorf("a JSON number is a %v cell", typ)
	}
	if typ, _ := f.GetCellType("Contacts", "C2"); typ != excelize.CellTypeBool {
		t.Errorf("a JSON boolean is a %v cell", typ)
	}
	if panes, _ := f.GetPanes("Contacts"); !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("the header is not frozen: %+v", panes)
	}
}

// writeXLSX writes a workbook of rows under fields, sheetRows rows a
// sheet, and opens it with excelize.
func writeXLSX(t *testing.T, sheetRows int, fields []string, rows ...[]cell) *excelize.File {
	t.Helper()
	var out bytes.Buffer
	w := newXLSXWriter(&out)
	w.sheetRows = sheetRows
	if err := w.header(fields); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
