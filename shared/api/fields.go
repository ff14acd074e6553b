package api

import (
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/portagehq/portage/shared/contacts"
	"github.com/portagehq/portage/shared/postgres"
)

// Field is a field a person may import into or export, as the page shows
// it: the web app copies no list of fields or labels from the server.
type Field struct {
	Name  string `json:"name"`
	Label string `json:"label"`
	// Kind is standard, attribute (tags, timestamps) or custom.
	Kind   string `json:"kind"`
	Import bool   `json:"import"`
	Export bool   `json:"export"`
}

// listFields answers GET /v1/fields: the standard fields, tags, full_name
// (import only), the timestamps (export only) and the tenant's custom
// fields.
func (s *Server) listFields(w http.ResponseWriter, r *http.Request, id Identity) error {
	var out []Field
	for f := contacts.Field(0); f < contacts.NumFields; f++ {
		out = append(out, Field{Name: f.Name(), Label: f.Label(), Kind: "standard", Import: true, Export: true})
	}
	out = append(out,
		Field{Name: "tags", Label: contacts.AttributeLabels["tags"], Kind: "attribute", Import: true, Export: true},
		Field{Name: "full_name", Label: "Full name (split into first and last)", Kind: "standard", Import: true},
		Field{Name: "created_at", Label: contacts.AttributeLabels["created_at"], Kind: "attribute", Export: true},
		Field{Name: "updated_at", Label: contacts.AttributeLabels["updated_at"], Kind: "attribute", Export: true})
	var custom []string
	err := postgres.InTenantTx(r.Context(), s.DB, id.TenantID, func(tx pgx.Tx) error {
		var err error
		custom, err = contacts.CustomFields(r.Context(), tx, id.TenantID)
		return err
	})
	if err != nil {
		return err
	}
	for _, name := range custom {
		out = append(out, Field{Name: "custom." + name, Label: name, Kind: "custom", Import: true, Export: true})
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": out})
	return nil
}
