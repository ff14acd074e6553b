package main

import (
	"encoding/json"

	"github.com/portagehq/portage/shared/mapping"
)

func decodeErrors(raw json.RawMessage) ([]mapping.RowError, error) {
	var errs []mapping.RowError
	if len(raw) == 0 {
		return nil, nil
	}
	return errs, json.Unmarshal(raw, &errs)
}
