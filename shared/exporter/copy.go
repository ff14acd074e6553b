package exporter

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/contacts"
)

// copyable reports whether an export can come straight out of COPY … TO
// STDOUT: a csv of every live contact (nothing to bind: COPY takes no
// parameters, and values are never written into SQL) with columns of the
// contacts table only.
func copyable(format, exportType string, fields []string) bool {
	if format != "csv" || exportType != "full" {
		return false
	}
	for _, f := range fields {
		if _, ok := copyExpr(f); !ok {
			return false
		}
	}
	return true
}

// copyExpr is the SQL for a field in the COPY path; the names come from the
// fixed list, never from the request.
func copyExpr(field string) (string, bool) {
	if f, ok := contacts.FieldByName(field); ok {
		return "c." + f.Name(), true
	}
	switch field {
	case "id", "workspace_id":
		return "c." + field + "::text", true
	case "tags":
		return "array_to_string(c.tags, ', ')", true
	case "created_at", "updated_at":
		return `to_json(c.` + field + `) #>> '{}'`, true // ISO 8601, faster than to_char
	}
	return "", false
}

// neutralizeSQL is Neutralize in SQL. The cheap first-character test
// (ascii() reads the first character without copying) comes first: the
// regular expression runs only for the rare values it lets by.
func neutralizeSQL(expr string) string {
	return fmt.Sprintf(`CASE WHEN ascii(%[1]s) IN (61, 43, 45, 64, 9, 13) THEN
		CASE WHEN %[1]s ~ '^[+-][0-9]+(\.[0-9]+)?$' THEN %[1]s ELSE '''' || %[1]s END ELSE %[1]s END`, expr)
}

// copyCSV writes the export with COPY, the fastest way out of PostgreSQL,
// formula-safe in SQL when asked, with the BOM and CRLF line ends of the
// other path. It returns the rows written.
func copyCSV(ctx context.Context, tx pgx.Tx, fields []string, formulaSafe bool, out io.Writer) (int, error) {
	cols := make([]string, len(fields))
	for i, f := range fields {
		expr, _ := copyExpr(f)
		if formulaSafe && f != "id" && f != "workspace_id" && f != "created_at" && f != "updated_at" {
			expr = neutralizeSQL(expr)
		}
		cols[i] = expr + ` AS "` + f + `"`
	}
	q := `COPY (SELECT ` + strings.Join(cols, ", ") + ` FROM contacts c
		WHERE c.tenant_id = portage_current_tenant() AND c.deleted_at IS NULL ORDER BY c.id)
		TO STDOUT WITH (FORMAT csv, HEADER true)`
	if _, err := io.WriteString(out, "\uFEFF"); err != nil {
		return 0, err
	}
	crlf := &crlfWriter{w: out}
	tag, err := tx.Conn().PgConn().CopyTo(ctx, crlf, q)
	if err != nil {
		return 0, fmt.Errorf("copy contacts: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// crlfWriter turns the record-ending LFs of a CSV stream into CRLF, leaving
// line breaks inside quoted values as they are.
type crlfWriter struct {
	w      io.Writer
	quoted bool
	buf    []byte
}

func (c *crlfWriter) Write(p []byte) (int, error) {
	c.buf = c.buf[:0]
	for _, b := range p {
		switch {
		case b == '"':
			c.quoted = !c.quoted
		case b == '\n' && !c.quoted:
			c.buf = append(c.buf, '\r')
		}
		c.buf = append(c.buf, b)
	}
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}
