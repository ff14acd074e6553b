package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/objstore"
)

// prepareFormats times prepare (read, map, validate, cut into chunk parts)
// of the same rows as CSV, XLSX and JSON, each the median of the bench's
// runs, and reports XLSX and JSON beside CSV: Excel is what most people
// bring, and its reader was 20× slower than the CSV one on the same rows.
func (b *bench) prepareFormats(ctx context.Context, r *report) error {
	csvPath, err := b.file("prepare.csv", b.rows, 40_000_000, 21)
	if err != nil {
		return err
	}
	records, err := readCSV(csvPath)
	if err != nil {
		return err
	}
	xlsxPath, jsonPath := strings.TrimSuffix(csvPath, ".csv")+".xlsx", strings.TrimSuffix(csvPath, ".csv")+".json"
	if err := writeXLSX(xlsxPath, records); err != nil {
		return err
	}
	if err := writeJSON(jsonPath, records); err != nil {
		return err
	}
	store := objstore.Dir(filepath.Join(b.dir, "prepare"))
	rates := map[string]*runs{}
	for _, format := range []string{"csv", "xlsx", "json"} {
		rates[format] = &runs{}
		path := map[string]string{"csv": csvPath, "xlsx": xlsxPath, "json": jsonPath}[format]
		for range b.repeat {
			job, err := b.newJob(ctx, store, path, jobs.Options{})
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := importer.Prepare(ctx, importer.Deps{DB: b.st.DB, Store: store, ChunkRows: 5000, TempDir: b.dir}, b.tenant, job)
			if err != nil {
				return fmt.Errorf("prepare %s: %w", format, err)
			}
			if res.TotalRows != b.rows {
				return fmt.Errorf("prepare %s: %d rows of %d", format, res.TotalRows, b.rows)
			}
			rates[format].add(rate(b.rows, time.Since(start)), "")
		}
	}
	info, _ := os.Stat(xlsxPath)
	size := ""
	if info != nil {
		size = fmt.Sprintf(", a %.1f MiB workbook", mib(info.Size()))
	}
	r.add(Figure{Name: "prepare an XLSX file", Rows: b.rows, Value: rates["xlsx"].value(), Unit: "rows/s",
		Baseline: "prepare the same rows as CSV", BaseVal: rates["csv"].value(), Target: 0.3,
		Note: fmt.Sprintf("%d columns%s, shared strings", len(records[0]), size)})
	r.add(Figure{Name: "prepare a JSON file", Rows: b.rows, Value: rates["json"].value(), Unit: "rows/s",
		Baseline: "prepare the same rows as CSV", BaseVal: rates["csv"].value()})
	return nil
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return csv.NewReader(f).ReadAll()
}

// writeXLSX writes records as a workbook the way Excel saves one: text in
// the shared strings.
func writeXLSX(path string, records [][]string) error {
	f := excelize.NewFile()
	defer f.Close()
	for i, rec := range records {
		row := make([]any, len(rec))
		for j, v := range rec {
			row[j] = v
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			return err
		}
	}
	return f.SaveAs(path)
}

func writeJSON(path string, records [][]string) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	defer out.Close()
	w := newBufWriter(out)
	w.WriteString("[")
	for i, rec := range records[1:] {
		obj := map[string]string{}
		for j, v := range rec {
			obj[records[0][j]] = v
		}
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		if i > 0 {
			w.WriteString(",\n")
		}
		w.Write(b)
	}
	w.WriteString("]\n")
	return w.Flush()
}
