package contacts

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// rememberCustomSQL adds the custom field names $2 to tenant $1's list.
const rememberCustomSQL = `INSERT INTO custom_fields (tenant_id, name)
	SELECT $1, n FROM unnest($2::text[]) AS n ON CONFLICT DO NOTHING`

// RememberCustomFields adds the names of the custom fields of the rows of
// each batch to their tenant's list (custom_fields), once each; a name
// already there is left as it is. A chunk calls it with the rows it wrote.
func RememberCustomFields(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, batches ...[]Row) error {
	seen := map[string]bool{}
	for _, rows := range batches {
		for i := range rows {
			for k := range rows[i].Custom {
				seen[k] = true
			}
		}
	}
	if len(seen) == 0 {
		return nil
	}
	// In order, so that concurrent chunks inserting the same new names
	// wait for each other rather than deadlock.
	names := slices.Sorted(maps.Keys(seen))
	var arr arrayBuilder
	for _, n := range names {
		arr.add(n)
	}
	if _, err := tx.Exec(ctx, rememberCustomSQL, tenantID, arr.String()); err != nil {
		return fmt.Errorf("remember custom fields: %w", err)
	}
	return nil
}

// CustomFields lists the names of the tenant's custom fields, in order.
func CustomFields(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT name FROM custom_fields WHERE tenant_id = $1 ORDER BY name`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list custom fields: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list custom fields: %w", err)
	}
	return names, nil
}
