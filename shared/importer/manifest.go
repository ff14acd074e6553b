package importer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/portagehq/portage/shared/objstore"
)

// Chunk is one item of the manifest: the input of one ApplyChunk. The
// manifest object is a JSON array of these, which a Distributed Map reads
// directly from S3.
type Chunk struct {
	JobID    uuid.UUID `json:"job_id"`
	TenantID uuid.UUID `json:"tenant_id"`
	Index    int       `json:"index"`
	Key      string    `json:"key"`
	FirstRow int       `json:"first_row"`
	LastRow  int       `json:"last_row"`
	Rows     int       `json:"rows"`
}

// PrepareResult is what Prepare returns to the state machine: small, so
// that the execution's payload stays far under its limits whatever the file.
type PrepareResult struct {
	JobID          uuid.UUID `json:"job_id"`
	TenantID       uuid.UUID `json:"tenant_id"`
	ManifestKey    string    `json:"manifest_key"`
	ChunkCount     int       `json:"chunk_count"`
	TotalRows      int       `json:"total_rows"`
	ErrorReportKey string    `json:"error_report_key,omitempty"`
}

// Object keys, all under the job's own prefix.
func jobPrefix(tenantID, jobID uuid.UUID) string {
	return fmt.Sprintf("imports/%s/%s/", tenantID, jobID)
}

func partKey(tenantID, jobID uuid.UUID, index int) string {
	return fmt.Sprintf("%sparts/%06d.part", jobPrefix(tenantID, jobID), index)
}

func manifestKey(tenantID, jobID uuid.UUID) string {
	return jobPrefix(tenantID, jobID) + "manifest.json"
}

func errorReportKey(tenantID, jobID uuid.UUID) string {
	return jobPrefix(tenantID, jobID) + "errors.csv"
}

// ReadManifest reads the manifest prepare wrote at key: the chunks a
// Distributed Map hands out one each. The state machine reads it itself;
// this is for callers that drive the steps directly.
func ReadManifest(ctx context.Context, store objstore.Store, key string) ([]Chunk, error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	defer rc.Close()
	var cs []Chunk
	if err := json.NewDecoder(rc).Decode(&cs); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", key, err)
	}
	return cs, nil
}
