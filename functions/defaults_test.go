package functions_test

import (
	"strconv"
	"testing"

	"github.com/portagehq/portage/shared/importer"
	"github.com/portagehq/portage/shared/rollback"
)

// The defaults the code falls back on and the values the template deploys
// are one number each: a change to one that forgets the other fails here.
func TestTemplateDefaultsAreTheCodes(t *testing.T) {
	t.Parallel()
	tmpl := readTemplate(t)
	for _, tt := range []struct {
		path []string
		want int
	}{
		{[]string{"Parameters", "ChunkRows", "Default"}, importer.DefaultChunkRows},
		{[]string{"Resources", "RollbackFunction", "Properties", "Environment", "Variables", "ROLLBACK_BATCH"}, rollback.DefaultBatch},
	} {
		n := tmpl
		for _, k := range tt.path {
			n = get(n, k)
		}
		if n == nil {
			t.Errorf("template.yaml has no %v", tt.path)
			continue
		}
		if got, err := strconv.Atoi(n.Value); err != nil || got != tt.want {
			t.Errorf("template.yaml's %v is %q, the code's default %d", tt.path, n.Value, tt.want)
		}
	}
}
