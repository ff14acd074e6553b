package readers_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/portagehq/portage/shared/readers"
)

// memoryChildEnv names the file a child process reads (TestMain), so that
// its peak RSS is its own.
const memoryChildEnv = "PORTAGE_READERS_MEMORY_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(memoryChildEnv); path != "" {
		code := readForMemory(path)
		fmt.Println("peak:", peakRSS())
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// peakRSS is this process's own peak resident set (VmHWM, in kB): not
// getrusage's maxrss, which on Linux carries over the parent's memory that
// the child shared until it exec'd.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// readForMemory reads a file as prepare does (every row) and prints the
// outcome; it is the child's whole life.
func readForMemory(path string) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Println("open:", err)
		return 2
	}
	defer f.Close()
	rd, err := readers.Open(f, filepath.Base(path), readers.Options{TempDir: filepath.Dir(path)})
	if err != nil {
		fmt.Println("refused:", err)
		return 0
	}
	defer rd.Close()
	rows := 0
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println("refused:", err)
			return 0
		}
		rows++
	}
	fmt.Println("rows:", rows)
	return 0
}

// hostileWorkbook writes a valid small workbook with one part replaced or
// added, its content streamed from write (so the test never holds it).
func hostileWorkbook(t *testing.T, path, part string, write func(io.Writer)) {
	t.Helper()
	base := excelize.NewFile()
	base.SetSheetRow("Sheet1", "A1", &[]any{"email", "name"})
	base.SetSheetRow("Sheet1", "A2", &[]any{"ada@example.com", "Ada"})
	var buf bytes.Buffer
	if err := base.Write(&buf); err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	zw := zip.NewWriter(out)
	zw.RegisterCompressor(zip.Deflate, fastDeflate)
	replaced := false
	for _, f := range zr.File {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		if f.Name == part {
			write(w)
			replaced = true
			continue
		}
		rc, _ := f.Open()
		io.Copy(w, rc)
		rc.Close()
	}
	if !replaced {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: part, Method: zip.Deflate})
		write(w)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// repeat writes n bytes of a compressible pattern (not one byte repeated,
// which the 1000:1 ratio guard would refuse up front).
func repeat(w io.Writer, n int, pattern string) {
	block := []byte(strings.Repeat(pattern, 64<<10/len(pattern)+1)[:64<<10])
	for ; n > 0; n -= len(block) {
		w.Write(block[:min(n, len(block))])
	}
}

func fastDeflate(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) }

const sheetHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
	`<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c></row>`

// Small hostile workbooks that used to inflate to gigabytes, and text files
// with one huge value, are read, or
// refused with a clear error, within a memory bound that comes from the
// limits and not from the file: each is read in a child process and its
// peak RSS checked (a fact of the code, not a timing).
func TestHostileFilesStayWithinMemory(t *testing.T) {
	t.Parallel()
	// Bytes of peak RSS: the limits allow far less here, and each file
	// took more than this before the reading was bounded (a quarter of the
	// sizes that made gigabytes).
	const bound = 200 << 20
	tests := []struct {
		name, part string
		write      func(io.Writer)
		outcome    string
	}{
		{"MediaPart", "xl/media/image1.bin", func(w io.Writer) { repeat(w, 128<<20, "0123456789abcdefghij") }, "rows: 1"},
		{"HugeComment", "xl/worksheets/sheet1.xml", func(w io.Writer) {
			io.WriteString(w, sheetHead+"<!--")
			repeat(w, 64<<20, "a comment that never ends ")
			io.WriteString(w, "--></sheetData></worksheet>")
		}, "XML tag or comment longer than"},
		{"HugeInlineCell", "xl/worksheets/sheet1.xml", func(w io.Writer) {
			io.WriteString(w, sheetHead+`<row r="2"><c r="A2" t="inlineStr"><is><t>`)
			repeat(w, 48<<20, "text of one cell ")
			io.WriteString(w, "</t></is></c></row></sheetData></worksheet>")
		}, "holds more than 32 KiB of text"},
		{"HugeWhitespace", "xl/worksheets/sheet1.xml", func(w io.Writer) {
			io.WriteString(w, sheetHead)
			repeat(w, 128<<20, " \t\n")
			io.WriteString(w, "</sheetData></worksheet>")
		}, "holds more than 32 KiB of text"},
		{"ManySharedStrings", "xl/sharedStrings.xml", func(w io.Writer) {
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
			for i := 0; i < 2_100_000; i++ {
				fmt.Fprintf(w, "<si><t>s%d</t></si>", i)
			}
			io.WriteString(w, "</sst>")
		}, "more than 2000000 distinct texts"},
	}
	// Text files whose one value is huge: the value is cut as it is read.
	textFile := func(name string, write func(io.Writer)) func(t *testing.T) string {
		return func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), name)
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			write(f)
			f.Close()
			return path
		}
	}
	texts := []struct {
		name string
		make func(t *testing.T) string
	}{
		{"HugeQuotedCSVValue", textFile("hostile.csv", func(w io.Writer) {
			io.WriteString(w, "email,notes\nada@example.com,\"")
			repeat(w, 64<<20, "a\n")
			io.WriteString(w, "\"\nbob@example.com,ok\n")
		})},
		{"HugeJSONString", textFile("hostile.json", func(w io.Writer) {
			io.WriteString(w, `[{"email":"ada@example.com","notes":"`)
			repeat(w, 64<<20, "json text ")
			io.WriteString(w, `"},{"email":"bob@example.com","notes":"ok"}]`)
		})},
	}
	for _, tt := range texts {
		tests = append(tests, struct {
			name, part string
			write      func(io.Writer)
			outcome    string
		}{name: tt.name, outcome: "rows: 2"})
	}
	makers := map[string]func(t *testing.T) string{}
	for _, tt := range texts {
		makers[tt.name] = tt.make
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "hostile.xlsx")
			if mk := makers[tt.name]; mk != nil {
				path = mk(t)
			} else {
				hostileWorkbook(t, path, tt.part, tt.write)
			}
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), memoryChildEnv+"="+path)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.outcome) {
				t.Fatalf("child said %q, want %q", out, tt.outcome)
			}
			var kb int64 = -1
			if i := strings.LastIndex(string(out), "peak: "); i >= 0 {
				kb, _ = strconv.ParseInt(strings.TrimSpace(string(out[i+6:])), 10, 64)
			}
			peak := kb << 10
			if kb <= 0 || peak > bound {
				t.Fatalf("peak RSS %d MiB, over the %d MiB bound", peak>>20, bound>>20)
			}
			t.Logf("%s: peak RSS %d MiB (%s)", tt.name, peak>>20, strings.TrimSpace(string(out)))
		})
	}
}
