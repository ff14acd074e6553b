package objstore_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/portagehq/portage/shared/objstore"
)

func TestDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := objstore.Dir(t.TempDir())
	if err := d.Put(ctx, "a/b/c.txt", strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	rc, err := d.Get(ctx, "a/b/c.txt")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "hello" {
		t.Fatalf("got %q", b)
	}
	if _, err := d.Get(ctx, "a/missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("missing key: %v, want ErrNotFound", err)
	}
	// Keys cannot climb out of the directory.
	if err := d.Put(ctx, "../escape", strings.NewReader("x")); err == nil {
		t.Fatal("a key with .. was accepted")
	}
	// A failed Put leaves no object.
	if err := d.Put(ctx, "half", io.MultiReader(strings.NewReader("x"), errReader{})); err == nil {
		t.Fatal("Put of a failing reader succeeded")
	}
	if _, err := d.Get(ctx, "half"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("half-written object is visible: %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("boom") }
