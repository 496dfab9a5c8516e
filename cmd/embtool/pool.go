package main

import (
	"bufio"
	"io"
	"runtime"
	"sync"
	"time"
)

// forEach runs fn over the inputs on a bounded pool of workers (one per
// CPU) and returns the results in input order, so output is stable
// whatever order the work finishes in. A progress bar with an ETA is
// drawn on stderr when it is a terminal and there is more than one input.
func forEach[T any](inputs []input, stderr io.Writer, fn func(input) T) []T {
	return forEachItem(inputs, stderr, "files", fn)
}

// forEachItem is forEach over any items; what names them on the bar.
// It is stream with every result kept.
func forEachItem[I, T any](items []I, stderr io.Writer, what string, fn func(I) T) []T {
	out := make([]T, 0, len(items))
	bar := newCountBar(int64(len(items)), stderr, what)
	stream(items, bar, func() func(I) T { return fn }, func(v T) { out = append(out, v) })
	bar.finish()
	return out
}

// windowPerWorker is how many results per worker may wait for the ones
// before them: enough that behind one large file the other workers go on
// with many small ones (4 made them stop after four).
const windowPerWorker = 32

// stream runs the function each worker gets from newWorker (one per CPU,
// so a worker can keep buffers between its inputs) over the inputs, and
// calls emit with each result in input order as soon as it and every one
// before it are done. The worker that completes a run of results emits
// them itself (emit is never called concurrently), so no goroutine is
// woken per result. A worker takes input i only once result i-window was
// emitted: at most window results wait, and memory does not grow with
// the number of inputs. bar (nil: none) counts the results emitted; the
// caller makes it and finishes it.
func stream[I, T any](inputs []I, bar *progress, newWorker func() func(I) T, emit func(T)) {
	workers := min(runtime.GOMAXPROCS(0), max(len(inputs), 1))
	window := windowPerWorker * workers
	var (
		mu            sync.Mutex
		room          = sync.NewCond(&mu)
		next, emitted int
		ready         = make([]T, window)
		done          = make([]bool, window)
	)
	var wg sync.WaitGroup
	work := func() {
		defer wg.Done()
		fn := newWorker()
		// Locked and unlocked by hand, not deferred: fn runs unlocked,
		// and a deferred Unlock after a panic in fn would replace the
		// panic with "unlock of unlocked mutex".
		mu.Lock()
		for {
			for next < len(inputs) && next >= emitted+window {
				room.Wait()
			}
			if next >= len(inputs) {
				mu.Unlock()
				return
			}
			i := next
			next++
			mu.Unlock()
			v := fn(inputs[i])
			mu.Lock()
			ready[i%window], done[i%window] = v, true
			before := emitted
			for emitted < len(inputs) && done[emitted%window] {
				k := emitted % window
				v := ready[k]
				var zero T
				ready[k], done[k] = zero, false
				emitted++
				emit(v)
				bar.add(1)
			}
			if emitted != before {
				room.Broadcast()
			}
		}
	}
	wg.Add(workers)
	for range workers - 1 {
		go work()
	}
	work() // the last worker is this goroutine: one input starts none
	wg.Wait()
}

// timedWriter buffers writes and flushes them at once after the first
// write, then at least every interval: a reader of the output (`| head`)
// sees each line soon after it is written, without a write per line.
// The timer starts at the second write (a one-line output starts none).
// It is safe for concurrent use.
type timedWriter struct {
	mu      sync.Mutex
	w       *bufio.Writer
	every   time.Duration
	first   bool
	ticking bool
	stop    chan struct{}
	done    chan struct{}
}

func newTimedWriter(w io.Writer, every time.Duration) *timedWriter {
	return &timedWriter{w: bufio.NewWriterSize(w, 64<<10), every: every, first: true}
}

func (t *timedWriter) tick() {
	defer close(t.done)
	tick := time.NewTicker(t.every)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.mu.Lock()
			t.w.Flush()
			t.mu.Unlock()
		}
	}
}

func (t *timedWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.w.Write(p)
	switch {
	case t.first && err == nil:
		t.first = false
		err = t.w.Flush()
	case !t.first && !t.ticking:
		t.ticking = true
		t.stop, t.done = make(chan struct{}), make(chan struct{})
		go t.tick()
	}
	return n, err
}

// Close stops the timer and flushes what is left; it does not close the
// underlying writer.
func (t *timedWriter) Close() error {
	t.mu.Lock()
	ticking := t.ticking
	t.mu.Unlock()
	if ticking {
		close(t.stop)
		<-t.done
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.w.Flush()
}
