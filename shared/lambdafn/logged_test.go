package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/apperr"
	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/lambdafn"
)

// Each invocation logs one structured line: the function, the job, its
// tenant and chunk, the time it took and how it ended; nothing else of the
// input.
func TestEveryInvocationLogsOneLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	chunk := importer.Chunk{JobID: uuid.New(), TenantID: uuid.New(), Index: 3, Rows: 5000, Key: "imports/t/j/part-3"}
	ok := lambdafn.Logged("import-chunk", log, func(context.Context, importer.Chunk) (int, error) { return 1, nil })
	failing := lambdafn.Logged("import-chunk", log, func(context.Context, importer.Chunk) (int, error) {
		return 0, apperr.Retryable(errors.New("database unreachable"))
	})
	if _, err := ok(context.Background(), chunk); err != nil {
		t.Fatal(err)
	}
	if _, err := failing(context.Background(), chunk); err == nil {
		t.Fatal("the error was swallowed")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines for 2 invocations:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"ok", apperr.TaskTransient} {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatal(err)
		}
		if line["function"] != "import-chunk" || line["job_id"] != chunk.JobID.String() || line["tenant_id"] != chunk.TenantID.String() ||
			line["chunk"] != float64(3) || line["outcome"] != want || line["duration_ms"] == nil {
			t.Errorf("line %d: %v", i, line)
		}
		if strings.Contains(lines[i], chunk.Key) {
			t.Errorf("line %d logs more of its input than its identifiers: %s", i, lines[i])
		}
	}
}
