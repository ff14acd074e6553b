package functions_test

import (
	"os"
	"strconv"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/rollback"
)

// The defaults the code falls back on and the values the template deploys
// are one number each: a change to one that forgets the other fails here.
func TestTemplateDefaultsAreTheCodes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path []string
		want int
	}{
		{[]string{"Parameters", "ChunkRows", "Default"}, importer.DefaultChunkRows},
		{[]string{"Resources", "RollbackFunction", "Properties", "Environment", "Variables", "ROLLBACK_BATCH"}, rollback.DefaultBatch},
	} {
		n := lookup(doc.Content[0], tt.path...)
		if n == nil {
			t.Errorf("template.yaml has no %v", tt.path)
			continue
		}
		if got, err := strconv.Atoi(n.Value); err != nil || got != tt.want {
			t.Errorf("template.yaml's %v is %q, the code's default %d", tt.path, n.Value, tt.want)
		}
	}
}

// lookup follows keys down a YAML mapping.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
