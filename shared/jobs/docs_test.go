package jobs_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/portagehq/portage/shared/jobs"
)

// The status table of docs/design.md is jobs.Transitions, row for row: a
// status added to the code and not to the table (cancelled was) fails here.
func TestDesignDocListsEveryTransition(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/design.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "| operation | from | to |\n| --- | --- | --- |\n")
	if !ok {
		t.Fatal("docs/design.md has no table of status moves")
	}
	documented := map[jobs.Op]jobs.Transition{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "|") || len(cells) != 3 {
			break
		}
		op, _, _ := strings.Cut(strings.TrimSpace(cells[0]), " (")
		var tr jobs.Transition
		for _, s := range strings.Split(cells[1], ",") {
			// "failed, once prepared": the words that are no status are a
			// condition the table adds.
			if s = strings.TrimSpace(s); slices.Contains(jobs.Statuses, s) {
				tr.From = append(tr.From, s)
			}
		}
		tr.To = strings.TrimSpace(cells[2])
		documented[jobs.Op(op)] = tr
	}
	for op, want := range jobs.Transitions {
		got, ok := documented[op]
		switch {
		case !ok:
			t.Errorf("%q: not in the table", op)
		case !sameSet(got.From, want.From) || got.To != want.To:
			t.Errorf("%q: the table says %v → %s, the code %v → %s", op, got.From, got.To, want.From, want.To)
		}
	}
	for op := range documented {
		if _, ok := jobs.Transitions[op]; !ok {
			t.Errorf("%q: in the table, not in jobs.Transitions", op)
		}
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
