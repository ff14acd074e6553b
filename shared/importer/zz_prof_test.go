package importer_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/jobs"
)

type tracer struct {
	mu  sync.Mutex
	tot map[string]time.Duration
}
type keyT struct{}
type startT struct {
	sql string
	at  time.Time
}

func (tr *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s := strings.Join(strings.Fields(d.SQL), " ")
	if len(s) > 70 {
		s = s[:70]
	}
	return context.WithValue(ctx, keyT{}, startT{s, time.Now()})
}
func (tr *tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	st := ctx.Value(keyT{}).(startT)
	tr.mu.Lock()
	tr.tot[st.sql] += time.Since(st.at)
	tr.mu.Unlock()
}

func TestZZProfile(t *testing.T) {
	n := 20000
	if os.Getenv("PROF_ROWS") != "" {
		fmt.Sscan(os.Getenv("PROF_ROWS"), &n)
	}
	e := newEnv(t)
	cfg := e.deps.DB.Config().Copy()
	tr := &tracer{tot: map[string]time.Duration{}}
	cfg.ConnConfig.Tracer = tr
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.deps.DB = db
	e.deps.ChunkRows = 5000
	var sb strings.Builder
	sb.WriteString("Email,First Name,Last Name,Phone,Company,Job Title,City,Country,Zip,Tags\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "user%d@example.com,Ada%d,Lovelace,+1 555 %07d,\"Acme, Inc.\",Engineer,London,US,%05d,vip\n", i, i%7, i, i%100000)
	}
	ctx := context.Background()
	for round, opts := range []jobs.Options{{}, {DuplicateStrategy: jobs.Update}} {
		content := sb.String()
		if round == 1 {
			content = strings.ReplaceAll(content, "Engineer", "Manager")
		}
		if round == 1 && os.Getenv("ANALYZE") != "" {
			db.Exec(ctx, "ANALYZE contacts")
		}
		job := e.newJob(t, "f.csv", content, nil, opts)
		start := time.Now()
		res, err := importer.Prepare(ctx, e.deps, e.tenant, job)
		if err != nil {
			t.Fatal(err)
		}
		prep := time.Since(start)
		tr.tot = map[string]time.Duration{}
		f, _ := os.Create(fmt.Sprintf("/tmp/chunk%d.prof", round))
		pprof.StartCPUProfile(f)
		start = time.Now()
		for _, c := range e.chunks(t, res) {
			if _, err := importer.ApplyChunk(ctx, e.deps, c); err != nil {
				t.Fatal(err)
			}
		}
		apply := time.Since(start)
		pprof.StopCPUProfile()
		f.Close()
		t.Logf("round %d: prepare %v, chunks %v (%.0f rows/s)", round, prep, apply, float64(n)/apply.Seconds())
		type kv struct {
			k string
			v time.Duration
		}
		var l []kv
		for k, v := range tr.tot {
			l = append(l, kv{k, v})
		}
		sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
		for _, x := range l {
			t.Logf("  %8v %s", x.v.Round(time.Millisecond), x.k)
		}
	}
}
