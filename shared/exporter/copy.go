package exporter

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/formula"
)

// copyable reports whether an export can come straight out of COPY … TO
// STDOUT: a csv or json of every live contact (nothing to bind: COPY takes
// no parameters, and values are never written into SQL) with columns of
// the contacts table only.
func copyable(format, exportType string, fields []string) bool {
	if format != "csv" && format != "json" || exportType != "full" {
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
		// No tags is an empty field, as the row path writes it: COPY would
		// quote an empty string ("") to tell it from NULL.
		return "nullif(array_to_string(c.tags, ', '), '')", true
	case "created_at", "updated_at":
		// As PostgreSQL prints it (ISO, UTC: see copyCSV); csvRewriter makes
		// it RFC 3339, for a fraction of what formatting it in SQL costs.
		return "c." + field, true
	}
	return "", false
}

// copyCSV writes the export with COPY, the fastest way out of PostgreSQL,
// with the BOM and CRLF line ends of the other path, and formula-safe when
// asked: the stream is rewritten on its way out (csvRewriter), which costs
// far less than a CASE per value in the query. It returns the rows written.
func copyCSV(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, fields []string, formulaSafe bool, out io.Writer) (int, error) {
	cols := make([]string, len(fields))
	kinds := make([]columnKind, len(fields))
	for i, f := range fields {
		expr, _ := copyExpr(f)
		cols[i] = expr + ` AS "` + f + `"`
		switch f {
		case "created_at", "updated_at":
			kinds[i] = timestampColumn
		case "id", "workspace_id":
		default:
			if formulaSafe {
				kinds[i] = neutralizedColumn
			}
		}
	}
	if _, err := io.WriteString(out, "\uFEFF"); err != nil {
		return 0, err
	}
	rw := &csvRewriter{w: out, kinds: kinds, header: true, fieldStart: true}
	n, err := copyContacts(ctx, tx, tenantID, cols, "WITH (FORMAT csv, HEADER true)", rw)
	if err != nil {
		return 0, err
	}
	return n, rw.flush()
}

// copyContacts runs COPY of the tenant's live contacts, columns cols in id
// order, with the COPY options given, into w, and returns the rows.
// Timestamps print as "2026-11-24 21:23:51.123456+00" (ISO, UTC), which
// the writers make RFC 3339.
func copyContacts(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, cols []string, options string, w io.Writer) (int, error) {
	if _, err := tx.Exec(ctx, `SELECT set_config('datestyle', 'ISO, MDY', true), set_config('timezone', 'UTC', true)`); err != nil {
		return 0, fmt.Errorf("copy contacts: %w", err)
	}
	// The tenant is written into the query (COPY takes no parameters; a
	// uuid.UUID prints only hex and dashes): against a constant, the planner
	// checks row-level security's tenant once, not once a row.
	q := `COPY (SELECT ` + strings.Join(cols, ", ") + ` FROM contacts c
		WHERE c.tenant_id = '` + tenantID.String() + `'::uuid AND c.deleted_at IS NULL ORDER BY c.id)
		TO STDOUT ` + options
	// COPY hands over a row at a time: gathered first, the writer after it
	// runs once per 64 KiB instead of once per row.
	rows := bufio.NewWriterSize(w, 64<<10)
	tag, err := tx.Conn().PgConn().CopyTo(ctx, rows, q)
	if err != nil {
		return 0, fmt.Errorf("copy contacts: %w", err)
	}
	if err := rows.Flush(); err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

// csvRewriter rewrites COPY's CSV stream as it passes: record-ending LFs
// become CRLF (line breaks inside quoted values stay as they are), values of
// neutralized columns that a spreadsheet would run as a formula get a
// leading quote, as Neutralize does, and timestamps in PostgreSQL's ISO
// style become RFC 3339, as the row path writes them ("2026-11-24
// 21:23:51.5+00" → "2026-11-24T21:23:51.5+00:00"). COPY quotes a value only
// when it holds a quote, comma or line break, so an unquoted value starting
// with + or - is held back until its end shows whether it is a plain
// number.
type csvRewriter struct {
	w     io.Writer
	kinds []columnKind // by column; none: only line ends are rewritten
	buf   []byte

	header     bool // in the header record: names, never rewritten
	quoted     bool // inside a quoted value
	fieldStart bool // the next byte starts a value
	firstInQ   bool // the next byte is the first inside a value's quotes
	col        int
	held       []byte // an unquoted value starting with + or -, so far
	holding    bool
	inTime     bool    // inside a timestamp
	timeLen    int     // its bytes so far
	timeTail   [3]byte // its last three bytes
}

type columnKind uint8

const (
	plainColumn columnKind = iota
	neutralizedColumn
	timestampColumn
)

func (c *csvRewriter) Write(p []byte) (int, error) {
	// Bytes are copied in spans: p[start:i] is what is still to be copied
	// when a byte has to be inserted (a quote, a CR) or a value held.
	out := c.buf[:0]
	start := 0
	for i := 0; i < len(p); i++ {
		if !c.holding && !c.quoted && !c.fieldStart && !c.inTime {
			// Inside an unquoted value: on to the next quote, comma or
			// line break.
			for i < len(p) && !csvSpecial[p[i]] {
				i++
			}
			if i == len(p) {
				break
			}
		}
		b := p[i]
		if c.holding {
			if b != ',' && b != '\n' {
				c.held = append(c.held, b)
				start = i + 1
				continue
			}
			out = c.releaseHeld(out)
		}
		if c.quoted {
			if c.firstInQ {
				c.firstInQ = false
				if isFormulaStart(b) {
					out = append(append(out, p[start:i]...), '\'')
					start = i
				}
			}
			if b != '"' {
				// Straight to the value's next quote.
				if n := bytes.IndexByte(p[i+1:], '"'); n >= 0 {
					i += n
				} else {
					i = len(p) - 1
				}
				continue
			}
			c.quoted = false // a doubled quote turns it straight back on
			continue
		}
		if c.fieldStart {
			c.fieldStart = false
			kind := plainColumn
			if c.col < len(c.kinds) && !c.header {
				kind = c.kinds[c.col]
			}
			switch {
			case kind == timestampColumn && !csvSpecial[b]: // not NULL
				c.inTime, c.timeLen, c.timeTail = true, 0, [3]byte{}
			case kind != neutralizedColumn:
			case b == '"':
				c.firstInQ = true
			case b == '+' || b == '-':
				out = append(out, p[start:i]...)
				c.holding, c.held = true, append(c.held[:0], b)
				start = i + 1
				continue
			case isFormulaStart(b):
				out = append(append(out, p[start:i]...), '\'')
				start = i
			}
		}
		if c.inTime {
			if !csvSpecial[b] {
				if c.timeLen == 10 && b == ' ' {
					out = append(append(out, p[start:i]...), 'T')
					start = i + 1
				}
				c.timeTail = [3]byte{c.timeTail[1], c.timeTail[2], b}
				c.timeLen++
				continue
			}
			// Its end: an offset of whole hours ("+00") gets its minutes.
			if c.timeTail[0] == '+' || c.timeTail[0] == '-' {
				out = append(append(out, p[start:i]...), ":00"...)
				start = i
			}
			c.inTime = false
		}
		switch b {
		case '"':
			c.quoted = true
		case ',':
			c.col++
			c.fieldStart = true
		case '\n':
			out = append(append(out, p[start:i]...), '\r')
			start = i
			c.col, c.fieldStart, c.header = 0, true, false
		}
	}
	out = append(out, p[start:]...)
	c.buf = out
	if _, err := c.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// releaseHeld appends the held value to out, neutralized unless a plain
// number.
func (c *csvRewriter) releaseHeld(out []byte) []byte {
	if !formula.PlainNumber(string(c.held)) {
		out = append(out, '\'')
	}
	c.holding = false
	return append(out, c.held...)
}

// flush writes a value still held at the end of the stream (COPY ends every
// record with a line break, so there is none in practice).
func (c *csvRewriter) flush() error {
	if !c.holding {
		return nil
	}
	c.buf = c.releaseHeld(c.buf[:0])
	_, err := c.w.Write(c.buf)
	return err
}

// csvSpecial marks the bytes that end an unquoted value or start a quoted one.
var csvSpecial = [256]bool{'"': true, ',': true, '\n': true}

func isFormulaStart(b byte) bool {
	return b == '=' || b == '+' || b == '-' || b == '@' || b == '\t' || b == '\r'
}

// jsonCopyExpr is the SQL of a field in the json COPY path, and how its
// text becomes JSON: tags come as JSON already (array_to_json), timestamps
// as PostgreSQL prints them in UTC (made RFC 3339 on the way), the rest as
// text to quote. The names come from the fixed list.
func jsonCopyExpr(field string) (string, jsonKind) {
	switch field {
	case "tags":
		return "array_to_json(coalesce(c.tags, '{}'))", jsonRaw
	case "created_at", "updated_at":
		return "c." + field, jsonTime
	case "id", "workspace_id":
		return "c." + field + "::text", jsonString
	}
	expr, _ := copyExpr(field)
	return expr, jsonString
}

type jsonKind int

const (
	jsonString jsonKind = iota
	jsonRaw
	jsonTime
)

// copyJSON writes a json export with COPY. PostgreSQL sends the columns as
// its text format (the cheapest it has); the objects are built from them
// on the way out (jsonRows), on this side of the connection, so that the
// database spends on the json export what it spends on the csv one. The
// bytes are the row path's. It returns the rows written.
func copyJSON(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, fields []string, out io.Writer) (int, error) {
	cols := make([]string, len(fields))
	jr := &jsonRows{w: out, kinds: make([]jsonKind, len(fields))}
	for i, f := range fields {
		cols[i], jr.kinds[i] = jsonCopyExpr(f)
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		jr.keys = append(jr.keys, append(contacts.AppendJSONString([]byte{sep}, f), ':'))
	}
	if _, err := io.WriteString(out, "["); err != nil {
		return 0, err
	}
	n, err := copyContacts(ctx, tx, tenantID, cols, "", jr)
	if err != nil {
		return 0, err
	}
	_, err = io.WriteString(out, "\n]\n")
	return n, err
}

// jsonRows turns COPY's text format (columns separated by tabs, rows ended
// by newlines, \N for NULL, backslash escapes) into the row path's array
// elements: "\n{…}" for the first, ",\n{…}" for the others.
type jsonRows struct {
	w     io.Writer
	kinds []jsonKind
	keys  [][]byte // each field's separator, name and colon
	col   int
	rows  int
	field []byte // the current field, still escaped as COPY wrote it
	out   []byte
	plain []byte
}

func (j *jsonRows) Write(p []byte) (int, error) {
	total := len(p)
	j.out = j.out[:0]
	for len(p) > 0 {
		i := bytes.IndexAny(p, "\t\n")
		if i < 0 {
			j.field = append(j.field, p...)
			break
		}
		j.field = append(j.field, p[:i]...)
		j.endField()
		if p[i] == '\n' {
			j.out = append(j.out, '}')
			j.col = 0
			j.rows++
		}
		p = p[i+1:]
	}
	if _, err := j.w.Write(j.out); err != nil {
		return 0, err
	}
	return total, nil
}

// endField writes the field just read, with its key (and the row's start).
func (j *jsonRows) endField() {
	if j.col == 0 {
		if j.rows > 0 {
			j.out = append(j.out, ',')
		}
		j.out = append(j.out, '\n')
	}
	j.out = append(j.out, j.keys[j.col]...)
	f := j.field
	j.field = j.field[:0]
	kind := j.kinds[j.col]
	j.col++
	if len(f) == 2 && f[0] == '\\' && f[1] == 'N' {
		j.out = append(j.out, "null"...)
		return
	}
	j.plain = unescapeCopyText(j.plain[:0], f)
	switch kind {
	case jsonRaw:
		j.out = append(j.out, j.plain...)
	case jsonTime:
		j.out = append(j.out, '"')
		j.out = appendRFC3339(j.out, j.plain)
		j.out = append(j.out, '"')
	default:
		j.out = contacts.AppendJSONString(j.out, string(j.plain))
	}
}

// unescapeCopyText undoes COPY's text-format escapes: \\, \t, \n, \r, \b,
// \f, \v.
func unescapeCopyText(dst, f []byte) []byte {
	for {
		i := bytes.IndexByte(f, '\\')
		if i < 0 || i == len(f)-1 {
			return append(dst, f...)
		}
		dst = append(dst, f[:i]...)
		switch c := f[i+1]; c {
		case 't':
			dst = append(dst, '\t')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'v':
			dst = append(dst, '\v')
		default:
			dst = append(dst, c)
		}
		f = f[i+2:]
	}
}

// appendRFC3339 appends PostgreSQL's ISO text of a UTC timestamp
// ("2026-11-24 21:23:51.5+00") as RFC 3339 ("2026-11-24T21:23:51.5+00:00"),
// as csvRewriter does.
func appendRFC3339(dst, t []byte) []byte {
	if len(t) > 10 && t[10] == ' ' {
		dst = append(dst, t[:10]...)
		dst = append(dst, 'T')
		t = t[11:]
	}
	dst = append(dst, t...)
	if n := len(t); n >= 3 && (t[n-3] == '+' || t[n-3] == '-') {
		dst = append(dst, ":00"...)
	}
	return dst
}
