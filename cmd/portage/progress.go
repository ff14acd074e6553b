package main

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// bar is a progress bar on w, drawn from the first reading that knows its
// total; a nil *bar draws nothing (for --json output).
type bar struct {
	w    io.Writer
	desc string
	pb   *progressbar.ProgressBar
}

func newBar(w io.Writer, desc string, show bool) *bar {
	if !show {
		return nil
	}
	return &bar{w: w, desc: desc}
}

func (b *bar) set(done, total int) {
	if b == nil {
		return
	}
	if b.pb == nil {
		b.pb = progressbar.NewOptions(total, progressbar.OptionSetWriter(b.w), progressbar.OptionSetDescription(b.desc),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	b.pb.Set(done)
}

func (b *bar) finish() {
	if b == nil || b.pb == nil {
		return
	}
	b.pb.Finish()
	fmt.Fprintln(b.w)
}
