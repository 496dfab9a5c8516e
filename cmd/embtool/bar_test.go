package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func countLabel(done, total int64) string { return fmt.Sprintf("%d/%d files", done, total) }

// The bar is drawn only by tick, from column 0, with the count, the
// percentage and an ETA from the average rate; finish blanks its line.
func TestBarDraw(t *testing.T) {
	var out bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	b := newProgress(&out, 10, countLabel, clk.now, 0)
	b.tick()
	if want := "\r0/10 files [>---------------------------]   0 % ETA --:--"; out.String() != want {
		t.Fatalf("first draw\n got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	clk.advance(3 * time.Second)
	b.add(3)
	if out.Len() != 0 {
		t.Fatalf("add drew: %q", out.String())
	}
	b.tick()
	// 3 s for 3 files: 7 s for the other 7.
	if want := "\r3/10 files [========>-------------------]  30 % ETA 00:07"; out.String() != want {
		t.Fatalf("at 3/10\n got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	clk.advance(7 * time.Second)
	b.add(7)
	b.tick()
	if want := "\r10/10 files [============================] 100 % ETA 00:00"; out.String() != want {
		t.Fatalf("at 10/10\n got %q\nwant %q", out.String(), want)
	}
	out.Reset()
	b.finish()
	if want := "\r" + strings.Repeat(" ", 58) + "\r"; out.String() != want {
		t.Fatalf("finish wrote %q, want the line blanked", out.String())
	}
	out.Reset()
	b.tick()
	b.add(1)
	b.finish()
	if out.Len() != 0 {
		t.Fatalf("a finished bar wrote %q", out.String())
	}
}

// A shorter line covers the rest of a longer one with spaces (no escape
// sequences, which an old Windows console prints as text).
func TestBarShrinks(t *testing.T) {
	var out bytes.Buffer
	label := "a long label"
	b := newProgress(&out, 2, func(done, total int64) string { return label }, (&fakeClock{}).now, 0)
	b.tick()
	first := runeWidth(out.String()) - 1
	out.Reset()
	label = "short"
	b.tick()
	if got := out.String(); runeWidth(got)-1 != first || !strings.HasSuffix(got, "--:--       ") || strings.Contains(got, "\x1b") {
		t.Fatalf("after a longer line: %q (%d columns, want %d)", got, runeWidth(got)-1, first)
	}
}

// A bar that was never drawn (a run shorter than a refresh) leaves no
// trace; a nil bar (no terminal) does nothing and writes through.
func TestBarQuiet(t *testing.T) {
	var out bytes.Buffer
	b := newProgress(&out, 5, countLabel, (&fakeClock{}).now, 0)
	b.add(5)
	b.finish()
	if out.Len() != 0 {
		t.Fatalf("an undrawn bar wrote %q", out.String())
	}
	var nb *progress
	nb.add(1)
	nb.tick()
	nb.finish()
	if w := nb.around(&out); w != io.Writer(&out) {
		t.Fatalf("nil bar's around is %T", w)
	}
}

// Not a terminal, or fewer than two items: no bar.
func TestBarOnlyOnTerminal(t *testing.T) {
	if b := newCountBar(100, &bytes.Buffer{}, "files"); b != nil {
		t.Fatal("a bar on a buffer")
	}
	if b := newBytesBar(1<<30, io.Discard); b != nil {
		t.Fatal("a bytes bar on io.Discard")
	}
}

// A message written around the bar starts on a cleared line; the next
// tick draws the bar again.
func TestBarAround(t *testing.T) {
	var out bytes.Buffer
	b := newProgress(&out, 4, countLabel, (&fakeClock{}).now, 0)
	w := b.around(&out)
	fmt.Fprintln(w, "embtool: a.pt: bad")
	if out.String() != "embtool: a.pt: bad\n" {
		t.Fatalf("before any draw: %q", out.String())
	}
	out.Reset()
	b.tick()
	fmt.Fprintln(w, "embtool: b.pt: bad")
	b.tick()
	got := out.String()
	want := "\r0/4 files [>---------------------------]   0 % ETA --:--" +
		"\r" + strings.Repeat(" ", 56) + "\r" + "embtool: b.pt: bad\n" +
		"\r0/4 files [>---------------------------]   0 % ETA --:--"
	if got != want {
		t.Fatalf("\n got %q\nwant %q", got, want)
	}
}

// On a narrow terminal the bar shrinks, then goes, then the text is cut:
// the line never reaches the last column.
func TestBarWidth(t *testing.T) {
	for _, cols := range []int{80, 50, 40, 30, 10} {
		var out bytes.Buffer
		b := newProgress(&out, 1000, countLabel, (&fakeClock{}).now, cols)
		b.add(500)
		b.tick()
		line := strings.TrimPrefix(out.String(), "\r")
		if runeWidth(line) > cols-1 {
			t.Errorf("cols %d: %d columns: %q", cols, runeWidth(line), line)
		}
		if cols >= 50 && !strings.Contains(line, "[==") {
			t.Errorf("cols %d: no bar: %q", cols, line)
		}
		if cols == 30 && (strings.Contains(line, "[") || !strings.HasPrefix(line, "500/1000 files  50 % ETA")) {
			t.Errorf("cols %d: %q", cols, line)
		}
	}
}

// Workers add and a ticker draws at once (run with -race): every count
// lands, and done never passes total on screen.
func TestBarConcurrent(t *testing.T) {
	var out lockedBuffer
	b := newProgress(&out, 4000, countLabel, (&fakeClock{}).now, 0)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				b.add(1)
				if i%50 == 0 {
					b.tick()
				}
			}
		}()
	}
	wg.Wait()
	b.add(3) // more than total: shown as total
	b.tick()
	if !strings.Contains(out.String(), "\r4000/4000 files [") {
		t.Fatalf("last draw: %q", out.String()[max(out.b.Len()-80, 0):])
	}
}

func TestSizeAndClock(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		3 << 20: "3.0 MiB", 5 << 30: "5.0 GiB", 2 << 40: "2.0 TiB", 3 << 50: "3072.0 TiB"} {
		if got := sizeIEC(n); got != want {
			t.Errorf("sizeIEC(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "00:00", 1499 * time.Millisecond: "00:01",
		59 * time.Second: "00:59", 61 * time.Minute: "1:01:00", 25*time.Hour + 5*time.Second: "25:00:05"} {
		if got := clockTime(d); got != want {
			t.Errorf("clockTime(%v) = %q, want %q", d, got, want)
		}
	}
}
