package contacts

// Field is a standard contact field, in the order of the contacts table.
type Field int

// The standard fields. Tags and custom fields are not in this list: they are
// a set and a map, not a text column.
const (
	Email Field = iota
	FirstName
	LastName
	Phone
	Company
	JobTitle
	Website
	Street
	City
	Region
	PostalCode
	Country
	NumFields
)

// fieldInfo is the column name, the longest value accepted (characters)
// and what a person reads for the field.
var fieldInfo = [NumFields]struct {
	name   string
	maxLen int
	label  string
}{
	Email:      {"email", 254, "Email"},
	FirstName:  {"first_name", 100, "First name"},
	LastName:   {"last_name", 100, "Last name"},
	Phone:      {"phone", 40, "Phone"},
	Company:    {"company", 200, "Company"},
	JobTitle:   {"job_title", 200, "Job title"},
	Website:    {"website", 2048, "Website"},
	Street:     {"street", 500, "Street"},
	City:       {"city", 100, "City"},
	Region:     {"region", 100, "State / region"},
	PostalCode: {"postal_code", 20, "Postal code"},
	Country:    {"country", 100, "Country"},
}

// Label is what a person reads for the field ("First name").
func (f Field) Label() string { return fieldInfo[f].label }

// AttributeLabels are what a person reads for a contact's attributes that
// are not standard fields.
var AttributeLabels = map[string]string{
	"tags": "Tags", "created_at": "Added on", "updated_at": "Last changed", "id": "Portage id", "workspace_id": "Workspace",
}

// Name is the field's column name, as used in field_mapping and exports.
func (f Field) Name() string { return fieldInfo[f].name }

// MaxLen is the longest value the field accepts, in characters.
func (f Field) MaxLen() int { return fieldInfo[f].maxLen }

// FieldByName returns the standard field called name.
func FieldByName(name string) (Field, bool) {
	for f := Field(0); f < NumFields; f++ {
		if fieldInfo[f].name == name {
			return f, true
		}
	}
	return 0, false
}

// Limits of tags and custom fields.
const (
	MaxTagLen         = 100
	MaxTags           = 100
	MaxCustomValueLen = 2000
	MaxCustomNameLen  = 64
)

// Input is what one file row brings for a contact, after mapping and
// validation. Values are "" where the row left a mapped field blank; which
// fields were mapped at all is the Plan's business, not the row's.
type Input struct {
	Values [NumFields]string `json:"v"`
	// Mapped has bit f set when the file maps field f: a blank value of a
	// mapped field may clear it (overwrite_blanks); an unmapped field is
	// never touched.
	Mapped uint32   `json:"m"`
	Tags   []string `json:"t,omitempty"`
	// Custom holds the mapped custom fields by name; "" is a blank value.
	Custom map[string]any `json:"x,omitempty"`
}

// Key is the match key: the email, already trimmed and lower-cased.
func (in *Input) Key() string { return in.Values[Email] }

// IsMapped reports whether the file maps field f.
func (in *Input) IsMapped(f Field) bool { return in.Mapped&(1<<f) != 0 }

// SetMapped marks field f as mapped.
func (in *Input) SetMapped(f Field) { in.Mapped |= 1 << f }
