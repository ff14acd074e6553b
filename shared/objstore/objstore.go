// Package objstore is the object storage the pipeline reads uploads from and
// writes its parts, manifests and reports to: an S3 bucket in AWS and on the
// local stack, a directory in unit tests. Keys are slash-separated paths.
package objstore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound is returned by Get for a key that holds no object.
var ErrNotFound = errors.New("object not found")

// Store reads and writes whole objects as streams. Implementations are safe
// for concurrent use.
type Store interface {
	// Put stores everything r yields under key, replacing any object there.
	// Nothing is visible under key unless Put returns nil.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens the object under key, or returns ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the object under key; a missing object is not an error.
	Delete(ctx context.Context, key string) error
}

// Dir is a Store on a local directory.
type Dir string

// Put writes to a temporary file and renames it, so a failed Put leaves
// nothing behind.
func (d Dir) Put(ctx context.Context, key string, r io.Reader) error {
	path, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, ctxReader{ctx, r}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Get opens the file under key.
func (d Dir) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotFound
	}
	return f, err
}

// Delete removes the file under key.
func (d Dir) Delete(ctx context.Context, key string) error {
	path, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func (d Dir) path(key string) (string, error) {
	clean := filepath.Clean("/" + key)
	if key == "" || strings.HasSuffix(key, "/") || clean != "/"+key {
		return "", errors.New("objstore: invalid key " + key)
	}
	return filepath.Join(string(d), filepath.FromSlash(key)), nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
