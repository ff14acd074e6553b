//go:build ignore

// gen writes the XLSX fixtures (they are binary, so they are generated, not
// typed). Run from shared/readers: go run testdata/gen.go
package main

import (
	"archive/zip"
	"bytes"
	"io"
	"log"
	"os"
	"strings"

	"github.com/xuri/excelize/v2"
)

func main() {
	contacts()
	streamed()
	notWorkbook()
	truncated()
}

// contacts.xlsx: a hidden first sheet, then the contacts sheet with shared
// strings, a phone stored as a number, dates in a custom and a built-in
// format, a formula with a cached value and a blank row.
func contacts() {
	f := excelize.NewFile()
	must(f.SetSheetName("Sheet1", "Secret"))
	must(f.SetCellValue("Secret", "A1", "do not import"))
	_, err := f.NewSheet("Contacts")
	must(err)
	rows := [][]any{
		{"Email", "First Name", "Phone", "Signed Up", "Renewal", "Score", "Zip"},
		{"ada@example.com", "Ada", 15551234567, 45355, 45356, nil, "02134"},
		{},
		{"bob@example.com", "Bob", 4930123456, 45000, 45001, nil, "00501"},
	}
	for r, row := range rows {
		for c, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			must(f.SetCellValue("Contacts", cell, v))
		}
	}
	custom := "dd/mm/yyyy"
	dmy, err := f.NewStyle(&excelize.Style{CustomNumFmt: &custom})
	must(err)
	builtin, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	must(err)
	general, err := f.NewStyle(&excelize.Style{NumFmt: 0, Font: &excelize.Font{Bold: true}})
	must(err)
	must(f.SetCellStyle("Contacts", "D2", "D4", dmy))
	must(f.SetCellStyle("Contacts", "E2", "E4", builtin))
	must(f.SetCellStyle("Contacts", "C2", "C4", general))
	must(f.SetCellFormula("Contacts", "F2", "LEN(A2)"))
	must(f.SetCellFormula("Contacts", "F4", "LEN(A4)"))
	f.SetActiveSheet(1)
	// Only a sheet that is not the active one can be hidden.
	must(f.SetSheetVisible("Secret", false))
	must(f.SaveAs("testdata/contacts.xlsx"))
	// excelize writes no cached values for formulas; put them in as Excel would.
	patch("testdata/contacts.xlsx", "xl/worksheets/sheet2.xml", func(s string) string {
		s = strings.Replace(s, "<f>LEN(A2)</f>", "<f>LEN(A2)</f><v>15</v>", 1)
		return strings.Replace(s, "<f>LEN(A4)</f>", "<f>LEN(A4)</f><v>15</v>", 1)
	})
}

// streamed.xlsx: written by excelize's StreamWriter (inline strings).
func streamed() {
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	must(err)
	must(sw.SetRow("A1", []any{"email", "company"}))
	must(sw.SetRow("A2", []any{"chloe@example.com", "Ünïcode GmbH"}))
	must(sw.Flush())
	must(f.SaveAs("testdata/streamed.xlsx"))
}

// not-a-workbook.xlsx: a zip archive with no workbook in it.
func notWorkbook() {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("readme.txt")
	must(err)
	io.WriteString(w, "hello")
	must(zw.Close())
	must(os.WriteFile("testdata/not-a-workbook.xlsx", buf.Bytes(), 0o644))
}

// truncated.xlsx: the first half of contacts.xlsx.
func truncated() {
	b, err := os.ReadFile("testdata/contacts.xlsx")
	must(err)
	must(os.WriteFile("testdata/truncated.xlsx", b[:len(b)/2], 0o644))
}

func patch(path, part string, fn func(string) string) {
	b, err := os.ReadFile(path)
	must(err)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	must(err)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		rc, err := zf.Open()
		must(err)
		data, err := io.ReadAll(rc)
		must(err)
		if zf.Name == part {
			data = []byte(fn(string(data)))
		}
		w, err := zw.Create(zf.Name)
		must(err)
		_, err = w.Write(data)
		must(err)
	}
	must(zw.Close())
	must(os.WriteFile(path, out.Bytes(), 0o644))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
