package contacts

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// columnArrays holds rows column by column, as PostgreSQL array literals:
// the parameters unnest reads. The planner knows how many rows an unnested
// array has (a JSON recordset it guesses at 100, which led it, with stale
// statistics, to quadratic plans); PostgreSQL parses array literals faster
// than JSON; and appending them here costs a fraction of encoding slices
// through the driver.
type columnArrays struct {
	ids, workspaces, tags, custom, evts arrayBuilder
	values                              [NumFields]arrayBuilder
	// data holds the rows' snapshots, one a line: a single text parameter
	// that string_to_array splits (no line breaks inside: JSON strings
	// escape them).
	data    strings.Builder
	scratch []byte
}

// add appends a row, and its event with the row's snapshot.
func (a *columnArrays) add(r *Row) error {
	eventID, err := uuid.NewV7()
	if err != nil {
		return err
	}
	if a.data.Len() > 0 {
		a.data.WriteByte('\n')
	}
	a.scratch = r.appendJSON(a.scratch[:0])
	a.data.Write(a.scratch)
	a.evts.add(eventID.String())
	a.ids.add(r.ID.String())
	if r.WorkspaceID == nil {
		a.workspaces.addNull()
	} else {
		a.workspaces.add(r.WorkspaceID.String())
	}
	for f := range a.values {
		if v := r.Values[f]; v == nil {
			a.values[f].addNull()
		} else {
			a.values[f].add(*v)
		}
	}
	a.tags.add(arrayLiteral(r.Tags))
	a.scratch = r.appendCustom(a.scratch[:0])
	a.custom.add(string(a.scratch))
	return nil
}

// arrayBuilder appends the elements of a one-dimensional array literal.
type arrayBuilder struct {
	b      strings.Builder
	closed bool
}

func (a *arrayBuilder) sep() {
	if a.b.Len() == 0 {
		a.b.WriteByte('{')
	} else {
		a.b.WriteByte(',')
	}
}

func (a *arrayBuilder) addNull() {
	a.sep()
	a.b.WriteString("NULL")
}

// add appends s quoted, its quotes and backslashes escaped; invalid UTF-8
// becomes U+FFFD, as in the row's snapshot.
func (a *arrayBuilder) add(s string) {
	a.sep()
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	a.b.WriteByte('"')
	for {
		i := strings.IndexAny(s, `"\`)
		if i < 0 {
			break
		}
		a.b.WriteString(s[:i])
		a.b.WriteByte('\\')
		a.b.WriteByte(s[i])
		s = s[i+1:]
	}
	a.b.WriteString(s)
	a.b.WriteByte('"')
}

// String closes the literal and returns it, without a copy; the builder
// takes no more elements.
func (a *arrayBuilder) String() string {
	if a.b.Len() == 0 {
		return "{}"
	}
	if !a.closed {
		a.b.WriteByte('}')
		a.closed = true
	}
	return a.b.String()
}

// arrayLiteral writes tags as a PostgreSQL text[] literal.
func arrayLiteral(tags []string) string {
	var a arrayBuilder
	for _, t := range tags {
		a.add(t)
	}
	return a.String()
}

// unnestColumns lists the x(…) columns of an unnest of a columnArrays, and
// unnestParams its parameters from $first on.
func unnestColumns() string {
	return "id, workspace_id, " + fieldList("", allFields) + ", tags, custom_fields"
}

// unnestParamCount is how many parameters unnestParams takes: the ids, the
// workspaces, a text[] a field, the tags and the custom fields.
const unnestParamCount = 2 + int(NumFields) + 2

func unnestParams(first int) string {
	types := []string{"uuid[]", "uuid[]"}
	for range NumFields {
		types = append(types, "text[]")
	}
	types = append(types, "text[]", "text[]")
	ps := make([]string, len(types))
	for i, t := range types {
		ps[i] = fmt.Sprintf("$%d::%s", first+i, t)
	}
	return strings.Join(ps, ", ")
}

func (a *columnArrays) params() []any {
	ps := []any{a.ids.String(), a.workspaces.String()}
	for f := range a.values {
		ps = append(ps, a.values[f].String())
	}
	return append(ps, a.tags.String(), a.custom.String())
}
