package filters_test

import (
	"strings"
	"testing"

	"github.com/portagehq/portage/shared/filters"
)

func TestParseErrorsNameTheProblem(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"UnknownKey", `{"tags":["a"],"colour":"red","Drop":1}`, `unknown filter key "Drop", "colour"`},
		{"UnknownField", `{"where":[{"field":"password","op":"eq","value":"x"}]}`, `where[0]: unknown field "password"`},
		{"InjectionInFieldName", `{"where":[{"field":"email; DROP TABLE contacts","op":"eq","value":"x"}]}`, `unknown field "email; DROP TABLE contacts"`},
		{"InjectionInCustomName", `{"where":[{"field":"custom.a') OR 1=1 --","op":"eq","value":"x"}]}`, `custom field name "a') OR 1=1 --" is not valid`},
		{"UnknownOp", `{"where":[{"field":"email","op":"like","value":"x"}]}`, `where[0]: unknown operator "like"`},
		{"UnknownConditionKey", `{"where":[{"field":"email","op":"eq","value":"x","extra":1}]}`, `unknown field "extra"`},
		{"BadTime", `{"created_after":"yesterday"}`, `filter "created_after"`},
		{"EmptyTakesNoValue", `{"where":[{"field":"company","op":"empty","value":"x"}]}`, "empty takes no value"},
		{"NotAnObject", `["tags"]`, "filters must be a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := filters.Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%s) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

// Values never reach the SQL text: they are bind parameters.
func TestSQLBindsEveryValue(t *testing.T) {
	t.Parallel()
	evil := `x' OR '1'='1`
	f, err := filters.Parse([]byte(`{"tags":["vip"],"where":[{"field":"custom.plan","op":"contains","value":"` + evil + `"},{"field":"company","op":"eq","value":"` + evil + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sql, args := f.SQL(2)
	if strings.Contains(sql, evil) || strings.Contains(sql, "plan") {
		t.Fatalf("a value reached the SQL: %s", sql)
	}
	if !strings.Contains(sql, "$3") || len(args) != 4 {
		t.Fatalf("sql %s args %v", sql, args)
	}
}
