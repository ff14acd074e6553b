// Command bench measures Portage against the machine's own limits, each
// figure beside its baseline in the same run: imports end to end on the
// local stack against PostgreSQL's bulk path (COPY into staging, one
// INSERT … SELECT) and a naive row-per-round-trip loader, update imports
// against a bulk INSERT … ON CONFLICT, the chunk step per chunk size,
// exports against COPY … TO STDOUT, peak memory of prepare, a chunk worker
// and an export in child processes, and rollback. Import and export
// figures are taken -repeat times (3), each run beside its own baseline, and
// the medians are reported: this machine's CPUs are shared, and one run
// moves by a fifth either way.
//
//	go run ./local/withpg go run ./bench -rows 100000
//
// It prints a table, then one JSON object with every figure (last line).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Figure is one measurement beside its baseline.
type Figure struct {
	Name     string  `json:"name"`
	Rows     int     `json:"rows"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Baseline string  `json:"baseline,omitempty"`
	BaseVal  float64 `json:"baseline_value,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Target   float64 `json:"target,omitempty"`
	Note     string  `json:"note,omitempty"`
	// LowerIsBetter (a cost, such as µs of CPU): the ratio is baseline ÷
	// value, so that ≥ target still means "good enough".
	LowerIsBetter bool `json:"lower_is_better,omitempty"`
}

type report struct {
	Rows    int      `json:"rows"`
	CPUs    int      `json:"cpus"`
	Figures []Figure `json:"figures"`
}

func (r *report) add(f Figure) {
	switch {
	case f.LowerIsBetter && f.Value > 0:
		f.Ratio = round(f.BaseVal / f.Value)
	case !f.LowerIsBetter && f.BaseVal > 0:
		f.Ratio = round(f.Value / f.BaseVal)
	}
	f.Value, f.BaseVal = round(f.Value), round(f.BaseVal)
	r.Figures = append(r.Figures, f)
	status := ""
	if f.Target > 0 {
		status = map[bool]string{true: "meets", false: "BELOW"}[f.Ratio >= f.Target]
		status = fmt.Sprintf("%s %.2f×", status, f.Target)
	}
	if f.Baseline == "" {
		// A figure on its own, such as a peak RSS: no "vs 0.0".
		fmt.Fprintf(os.Stderr, "· %-44s %12.1f %s\n", f.Name, f.Value, f.Unit)
	} else {
		fmt.Fprintf(os.Stderr, "· %-44s %12.1f %-10s vs %-38s %12.1f  ratio %.2f  %s\n", f.Name, f.Value, f.Unit, f.Baseline, f.BaseVal, f.Ratio, status)
	}
	if f.Note != "" {
		fmt.Fprintf(os.Stderr, "    %s\n", f.Note)
	}
}

func round(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		if err := child(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		fmt.Printf("VmHWM %d\n", peakRSS())
		return
	}
	rows := flag.Int("rows", 100_000, "contacts per import and export")
	rssRows := flag.String("rss-rows", "100000,1000000", "row counts of the memory figures")
	bigTenant := flag.Int("big-tenant", 1_000_000, "contacts the big tenant holds before the big-tenant import")
	firstRows := flag.Int("first-rows", 200_000, "contacts of the first import into the new database (step first)")
	smallTenant := flag.Int("small-tenant", 200_000, "contacts the tenant holds before the small-into-big import")
	smallRows := flag.Int("small-rows", 20_000, "contacts of the small-into-big import")
	root := flag.String("root", ".", "the project directory")
	repeat := flag.Int("repeat", 3, "runs of each import and export figure, each beside its baseline; the median is reported")
	concurrency := flag.Int("concurrency", 4, "chunk Lambdas at once in end-to-end imports (the Map's MaxConcurrency)")
	chunkRows := flag.Int("chunk-rows", 5000, "file rows a chunk in end-to-end imports")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (the local stack and its Lambdas) to this file")
	only := flag.String("only", "", "run only these steps (comma-separated): first, bystander, prepare, import, update, chunks, export, rollback, memory, small-into-big, big-tenant; first runs before the bystander tenant is added, update needs import, rollback needs update")
	flag.Parse()
	ctx := context.Background()
	if os.Getenv("DATABASE_URL") == "" {
		fmt.Fprintln(os.Stderr, "bench: DATABASE_URL is not set; run `make bench`")
		os.Exit(2)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	r := &report{Rows: *rows, CPUs: runtime.NumCPU()}
	b, err := newBench(ctx, *root, *rows, *repeat, *concurrency, *chunkRows)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer b.close()
	type step struct {
		name string
		run  func(context.Context, *report) error
	}
	steps := []step{
		{"first", func(ctx context.Context, r *report) error { return b.firstImport(ctx, r, *firstRows) }},
		{"bystander", func(ctx context.Context, r *report) error { return b.addBystander(ctx) }},
		{"prepare", b.prepareFormats},
		{"import", b.importNew}, {"update", b.importUpdate}, {"chunks", b.chunkSizes}, {"export", b.exports},
		{"rollback", b.rollback}, {"memory", func(ctx context.Context, r *report) error { return b.memory(ctx, r, *rssRows) }},
		{"small-into-big", func(ctx context.Context, r *report) error { return b.bigTenant(ctx, r, *smallTenant, *smallRows) }},
		{"big-tenant", func(ctx context.Context, r *report) error { return b.bigTenant(ctx, r, *bigTenant, *rows) }},
	}
	selected := map[string]bool{}
	for _, name := range strings.Split(*only, ",") {
		if name = strings.TrimSpace(name); name != "" {
			selected[name] = true
		}
	}
	for name := range selected {
		if !slices.ContainsFunc(steps, func(s step) bool { return s.name == name }) {
			fmt.Fprintf(os.Stderr, "bench: -only: no step %q (first, bystander, prepare, import, update, chunks, export, rollback, memory, small-into-big, big-tenant)\n", name)
			os.Exit(2)
		}
	}
	for _, step := range steps {
		if len(selected) > 0 && !selected[step.name] && step.name != "bystander" {
			continue
		}
		if err := step.run(ctx, r); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n", step.name, err)
			os.Exit(1)
		}
	}
	printTable(r)
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func printTable(r *report) {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "figure\trows\tvalue\tunit\tbaseline\tbaseline value\tratio\ttarget\t\n")
	for _, f := range r.Figures {
		target := ""
		if f.Target > 0 {
			target = fmt.Sprintf("≥ %.2f %s", f.Target, map[bool]string{true: "ok", false: "MISSED"}[f.Ratio >= f.Target])
		}
		ratio := ""
		if f.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", f.Ratio)
		}
		baseVal := ""
		if f.Baseline != "" {
			baseVal = fmt.Sprintf("%.1f", f.BaseVal)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%s\t%s\t%s\t\n", f.Name, f.Rows, f.Value, f.Unit, f.Baseline, baseVal, ratio, target)
	}
	tw.Flush()
}

// genFile writes n realistic contacts (keys user<offset+i>) as CSV.
func genFile(path string, n, offset int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := newBufWriter(f)
	rnd := rand.New(rand.NewPCG(seed, 9))
	firsts := []string{"Ada", "Grace", "Linus", "Zoë", "Chloé", "Björn", "Mary", "José", "Ken", "Aiko"}
	lasts := []string{"Lovelace", "Hopper", "Torvalds", "Ünal", "Dubois", "Berg", "Smith", "García", "Thompson", "Sato"}
	companies := []string{"Analytical Engines", "Navy Research", "Linux Foundation", "Café Société", "Acme, Inc.", "Globex", "Initech"}
	cities := []string{"London", "Paris", "Berlin", "Madrid", "Tokyo", "New York", "São Paulo"}
	w.WriteString("Email,First Name,Last Name,Phone,Company,Job Title,City,Country,Zip,Tags\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "user%d@example.com,%s,%s,+1 555 %07d,\"%s\",Engineer,%s,US,%05d,%s\n", offset+i,
			firsts[rnd.IntN(len(firsts))], lasts[rnd.IntN(len(lasts))], rnd.IntN(10_000_000),
			companies[rnd.IntN(len(companies))], cities[rnd.IntN(len(cities))], rnd.IntN(100_000), []string{"vip", "lead", "customer"}[rnd.IntN(3)])
	}
	return w.Flush()
}

// childRSS runs this binary's child mode and returns its peak resident set,
// which the child reads from its own /proc status (VmHWM) as it ends: the
// rusage of a forked child starts from the parent's peak, not its own.
func childRSS(args ...string) (int64, time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(self, append([]string{"child"}, args...)...)
	cmd.Stderr = os.Stderr
	cmd.Env = os.Environ()
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("child %v: %w", args[0], err)
	}
	var kib int64
	if _, err := fmt.Sscanf(string(out), "VmHWM %d", &kib); err != nil {
		return 0, 0, fmt.Errorf("child %v printed %q", args[0], out)
	}
	return kib * 1024, time.Since(start), nil
}

// peakRSS is this process's peak resident set in KiB.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
