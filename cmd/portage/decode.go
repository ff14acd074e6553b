package main

import (
	"encoding/json"
	"io"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/mapping"
)

func readManifest(rc io.ReadCloser) ([]importer.Chunk, error) {
	defer rc.Close()
	var cs []importer.Chunk
	return cs, json.NewDecoder(rc).Decode(&cs)
}

func decodeErrors(raw json.RawMessage) ([]mapping.RowError, error) {
	var errs []mapping.RowError
	if len(raw) == 0 {
		return nil, nil
	}
	return errs, json.Unmarshal(raw, &errs)
}
