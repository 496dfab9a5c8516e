package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// barEvery is how often a progress bar is redrawn: a run shorter than
// that never shows one.
const barEvery = 100 * time.Millisecond

// barCells is the width of the bar itself, brackets included.
const barCells = 30

// progress is a one-line progress bar on a terminal: a count (or bytes)
// label, the bar, the percentage and an ETA from the average rate so
// far. It is redrawn from column 0 with a carriage return by a ticker,
// at most once every barEvery, whatever the rate of add; its line is
// blanked when it finishes (no escape sequences: any console shows it). Every method is safe for concurrent use and
// does nothing on a nil *progress (no terminal: no bar).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	now      func() time.Time
	label    func(done, total int64) string
	total    int64
	done     int64
	start    time.Time
	cols     int  // the terminal's width, 0 when unknown (no limit)
	shown    bool // the bar's line is on screen
	width    int  // its width in columns
	finished bool
	stop     chan struct{}
	stopped  chan struct{}
}

// newCountBar is a bar counting items ("3/40 files") on stderr, or nil
// when stderr is not a terminal (pipes, files, CI, tests) or there are
// fewer than two items.
func newCountBar(total int64, stderr io.Writer, what string) *progress {
	return startBar(total, stderr, func(done, total int64) string {
		return fmt.Sprintf("%d/%d %s", done, total, what)
	})
}

// newBytesBar is a bar of bytes done ("1.5 MiB / 3.0 GiB") on stderr,
// or nil as newCountBar.
func newBytesBar(total int64, stderr io.Writer) *progress {
	return startBar(total, stderr, func(done, total int64) string {
		return sizeIEC(done) + " / " + sizeIEC(total)
	})
}

func startBar(total int64, stderr io.Writer, label func(done, total int64) string) *progress {
	if total < 2 || !terminal(stderr) {
		return nil
	}
	b := newProgress(stderr, total, label, time.Now, termWidth(stderr))
	b.stop, b.stopped = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(b.stopped)
		t := time.NewTicker(barEvery)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.tick()
			}
		}
	}()
	return b
}

// newProgress is a bar on w with its clock; nothing redraws it but tick
// (tests drive it by hand).
func newProgress(w io.Writer, total int64, label func(done, total int64) string, now func() time.Time, cols int) *progress {
	return &progress{w: w, now: now, label: label, total: total, start: now(), cols: cols}
}

// add counts n more done; it never draws.
func (b *progress) add(n int64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.done += n
	b.mu.Unlock()
}

// tick redraws the bar.
func (b *progress) tick() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.finished {
		return
	}
	// Spaces, not an erase escape, cover what is left of a longer line
	// before: a console without ANSI support (old Windows) shows them
	// right.
	s := b.line()
	n := runeWidth(s)
	io.WriteString(b.w, "\r"+s+strings.Repeat(" ", max(b.width-n, 0)))
	b.width, b.shown = n, true
}

// finish stops the redraws and clears the bar's line.
func (b *progress) finish() {
	if b == nil {
		return
	}
	if b.stop != nil {
		close(b.stop)
		<-b.stopped
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.clear()
	b.finished = true
}

func (b *progress) clear() {
	if b.shown {
		io.WriteString(b.w, "\r"+strings.Repeat(" ", b.width)+"\r")
		b.shown, b.width = false, 0
	}
}

// around returns a writer to w that first clears the bar's line, so a
// message written while the bar is up starts on a clean line; the next
// tick draws the bar again below it. Without a bar it is w.
func (b *progress) around(w io.Writer) io.Writer {
	if b == nil {
		return w
	}
	return barClearingWriter{b, w}
}

type barClearingWriter struct {
	b *progress
	w io.Writer
}

func (c barClearingWriter) Write(p []byte) (int, error) {
	c.b.mu.Lock()
	defer c.b.mu.Unlock()
	c.b.clear()
	return c.w.Write(p)
}

// line is the bar's text, fitted to the terminal's width less one
// column (a full line would wrap on some terminals).
func (b *progress) line() string {
	total := max(b.total, 1)
	done := min(max(b.done, 0), total)
	label := b.label(done, b.total)
	pct := fmt.Sprintf("%3d %%", done*100/total)
	eta := "--:--"
	if elapsed := b.now().Sub(b.start); done > 0 && elapsed >= 0 {
		eta = clockTime(time.Duration(float64(elapsed) / float64(done) * float64(total-done)))
	}
	tail := " " + pct + " ETA " + eta
	cells := barCells
	if b.cols > 1 {
		cells = min(cells, b.cols-1-runeWidth(label)-1-runeWidth(tail))
	}
	s := label + tail
	if cells >= 7 {
		fill := cells - 2
		n := int(done * int64(fill) / total)
		bar := strings.Repeat("=", n)
		if n < fill {
			bar += ">" + strings.Repeat("-", fill-n-1)
		}
		s = label + " [" + bar + "]" + tail
	}
	if b.cols > 1 {
		s = truncate(s, b.cols-1)
	}
	return s
}

// clockTime is d as MM:SS, or H:MM:SS from an hour.
func clockTime(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// sizeIEC is n bytes with one decimal in powers of 1024 ("1.5 MiB").
func sizeIEC(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n)/1024, 0
	for v >= 1024 && u < 3 {
		v, u = v/1024, u+1
	}
	return fmt.Sprintf("%.1f %s", v, []string{"KiB", "MiB", "GiB", "TiB"}[u])
}
