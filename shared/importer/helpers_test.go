package importer_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/jobs"
	"github.com/portagehq/portage/shared/pipelinetest"
)

// env is the pipeline of one tenant, with the importer tests' own checks.
type env struct{ *pipelinetest.Env }

func newEnv(t testing.TB) *env { return &env{pipelinetest.New(t)} }

// live returns the tenant's live contacts by email.
func (e *env) live(t testing.TB) map[string]contacts.Row {
	t.Helper()
	out := map[string]contacts.Row{}
	e.Tx(t, func(tx pgx.Tx) error {
		rows, err := tx.Query(context.Background(), `SELECT to_jsonb(c.*) FROM contacts c WHERE deleted_at IS NULL`)
		if err != nil {
			return err
		}
		snaps, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return err
		}
		for _, s := range snaps {
			var r contacts.Row
			if err := json.Unmarshal(s, &r); err != nil {
				return err
			}
			out[r.Value(contacts.Email)] = r
		}
		return nil
	})
	return out
}

// contentDigest hashes every live contact's content (not ids or
// timestamps), so two imports can be compared.
func (e *env) contentDigest(t testing.TB) string {
	t.Helper()
	live := e.live(t)
	lines := make([]string, 0, len(live))
	for _, r := range live {
		r.ID, r.TenantID, r.CreatedAt, r.UpdatedAt = uuid.Nil, uuid.Nil, "", ""
		b, _ := json.Marshal(r)
		lines = append(lines, string(b))
	}
	sort.Strings(lines)
	h := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(h[:])
}

func (e *env) object(t testing.TB, key string) string {
	t.Helper()
	rc, err := e.Deps.Store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}

type counters struct{ Total, Created, Updated, Skipped, Errors, Processed, Imported int }

func countersOf(j jobs.ImportJob) counters {
	total := 0
	if j.TotalRows != nil {
		total = *j.TotalRows
	}
	return counters{total, j.CreatedCount, j.UpdatedCount, j.SkippedCount, j.ErrorCount, j.ProcessedRows, j.ImportedCount}
}
