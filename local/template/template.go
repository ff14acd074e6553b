// Package template reads what the local stack needs from template.yaml, so
// that local functions run with the settings AWS would give them.
package template

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Function is one AWS::Serverless::Function.
type Function struct {
	LogicalID string
	// Name is the function's folder under functions/ (ImportChunkFunction →
	// import-chunk).
	Name    string
	Timeout time.Duration
}

// Functions reads the template's functions, with Globals applied.
func Functions(path string) (map[string]Function, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Globals struct {
			Function struct {
				Timeout yaml.Node `yaml:"Timeout"`
			} `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Timeout yaml.Node `yaml:"Timeout"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	def := 3 * time.Second // Lambda's own default
	if t, ok := seconds(doc.Globals.Function.Timeout); ok {
		def = t
	}
	out := map[string]Function{}
	for id, r := range doc.Resources {
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		f := Function{LogicalID: id, Name: folderName(id), Timeout: def}
		if t, ok := seconds(r.Properties.Timeout); ok {
			f.Timeout = t
		}
		out[f.Name] = f
	}
	return out, nil
}

func seconds(n yaml.Node) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, false
	}
	return time.Duration(v) * time.Second, true
}

func folderName(logicalID string) string {
	id := strings.TrimSuffix(logicalID, "Function")
	var b strings.Builder
	for i, r := range id {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
