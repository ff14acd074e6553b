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

// HTTPAPI is what API Gateway puts in an api event for the template's HTTP
// API: the stage (rawPath starts with "/<stage>" unless it is $default) and
// the route key of the api function's route.
type HTTPAPI struct {
	Stage    string
	RouteKey string
	// ProxyParam is the name of the route's greedy path parameter
	// ("proxy" for /{proxy+}), or "" when the route has none.
	ProxyParam string
}

// API reads the template's HTTP API and the route of the function that
// serves it.
func API(path string) (HTTPAPI, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return HTTPAPI{}, err
	}
	var doc struct {
		Parameters map[string]struct {
			Default string `yaml:"Default"`
		} `yaml:"Parameters"`
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				StageName yaml.Node `yaml:"StageName"`
				Events    map[string]struct {
					Type       string `yaml:"Type"`
					Properties struct {
						Path   string `yaml:"Path"`
						Method string `yaml:"Method"`
					} `yaml:"Properties"`
				} `yaml:"Events"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return HTTPAPI{}, fmt.Errorf("%s: %w", path, err)
	}
	api := HTTPAPI{Stage: "$default"}
	apis, routes := 0, 0
	for _, r := range doc.Resources {
		switch r.Type {
		case "AWS::Serverless::HttpApi":
			apis++
			switch n := r.Properties.StageName; {
			case n.Kind == 0:
			case n.Tag == "!Ref":
				api.Stage = doc.Parameters[n.Value].Default
			case n.Kind == yaml.ScalarNode:
				api.Stage = n.Value
			default:
				return HTTPAPI{}, fmt.Errorf("%s: HttpApi StageName %q is not a name or a !Ref", path, n.Value)
			}
		case "AWS::Serverless::Function":
			for _, ev := range r.Properties.Events {
				if ev.Type != "HttpApi" {
					continue
				}
				routes++
				api.RouteKey = strings.ToUpper(ev.Properties.Method) + " " + ev.Properties.Path
				if i := strings.Index(ev.Properties.Path, "{"); i >= 0 && strings.HasSuffix(ev.Properties.Path, "+}") {
					api.ProxyParam = strings.TrimSuffix(ev.Properties.Path[i+1:], "+}")
				}
			}
		}
	}
	if apis != 1 || routes != 1 {
		return HTTPAPI{}, fmt.Errorf("%s: the local front serves one HttpApi with one function route; found %d APIs and %d routes", path, apis, routes)
	}
	return api, nil
}
