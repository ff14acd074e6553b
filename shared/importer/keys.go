package importer

import (
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// UploadKey is where a job's file is uploaded: uploads/<tenant>/<job>/<name>.
func UploadKey(tenantID, jobID uuid.UUID, fileName string) string {
	return fmt.Sprintf("uploads/%s/%s/%s", tenantID, jobID, fileName)
}

// ParseUploadKey reads the tenant and job back from an upload key.
func ParseUploadKey(key string) (tenantID, jobID uuid.UUID, ok bool) {
	parts := strings.SplitN(key, "/", 4)
	if len(parts) != 4 || parts[0] != "uploads" || parts[3] == "" {
		return uuid.Nil, uuid.Nil, false
	}
	tenant, err1 := uuid.Parse(parts[1])
	job, err2 := uuid.Parse(parts[2])
	if err1 != nil || err2 != nil {
		return uuid.Nil, uuid.Nil, false
	}
	return tenant, job, true
}
