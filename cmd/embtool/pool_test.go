package main

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// stream emits every result once, in input order, while the work finishes
// out of order; no more than its window of results is ever started and
// not yet emitted (memory does not grow with the number of inputs); each
// worker's function comes from its own newWorker call.
func TestStreamOrderAndWindow(t *testing.T) {
	inputs := make([]input, 3000)
	for i := range inputs {
		inputs[i].path = fmt.Sprint(i)
	}
	window := windowPerWorker * min(runtime.GOMAXPROCS(0), len(inputs))
	var started, emitted, maxAhead, workers atomic.Int64
	var got []string
	stream(inputs, nil, func() func(input) string {
		workers.Add(1)
		return func(in input) string {
			if ahead := started.Add(1) - emitted.Load(); ahead > maxAhead.Load() {
				maxAhead.Store(ahead)
			}
			if len(in.path)%3 == 0 {
				time.Sleep(20 * time.Microsecond) // finish out of order
			}
			return in.path
		}
	}, func(s string) {
		got = append(got, s) // emit is never concurrent: no lock
		emitted.Add(1)
	})
	if len(got) != len(inputs) {
		t.Fatalf("%d results for %d inputs", len(got), len(inputs))
	}
	for i, s := range got {
		if s != inputs[i].path {
			t.Fatalf("result %d is %s", i, s)
		}
	}
	if m := maxAhead.Load(); m > int64(window) {
		t.Errorf("%d inputs started ahead of the output, window %d", m, window)
	}
	if w := workers.Load(); w != int64(min(runtime.GOMAXPROCS(0), len(inputs))) {
		t.Errorf("%d workers", w)
	}
	stream(nil, nil, func() func(input) int { return func(input) int { return 0 } }, func(int) { t.Error("emit without inputs") })
}

// One input, or one CPU: the work runs on the caller's goroutine, in
// order, and gives the same results.
func TestPoolOneWorker(t *testing.T) {
	inputs := []input{{path: "a"}, {path: "b"}, {path: "c"}}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var got []string
	stream(inputs, nil, func() func(input) string {
		return func(in input) string { return in.path }
	}, func(s string) { got = append(got, s) })
	if fmt.Sprint(got) != "[a b c]" {
		t.Errorf("stream: %v", got)
	}
	var order []string
	res := forEach(inputs, nil, func(in input) string {
		order = append(order, in.path) // one goroutine: no lock
		return in.path + "!"
	})
	if fmt.Sprint(res) != "[a! b! c!]" || fmt.Sprint(order) != "[a b c]" {
		t.Errorf("forEach: %v, order %v", res, order)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The first line goes out at once, later ones within the interval, the
// rest on Close.
func TestTimedWriter(t *testing.T) {
	var out lockedBuffer
	w := newTimedWriter(&out, 20*time.Millisecond)
	fmt.Fprintln(w, "one")
	if out.String() != "one\n" {
		t.Fatalf("after the first line: %q", out.String())
	}
	fmt.Fprintln(w, "two")
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != "one\ntwo\n" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if out.String() != "one\ntwo\n" {
		t.Fatalf("the second line did not go out in time: %q", out.String())
	}
	w2 := newTimedWriter(&out, time.Hour)
	fmt.Fprint(w2, "a")
	if w2.ticking {
		t.Error("a timer after one write")
	}
	fmt.Fprint(w2, "b")
	if !w2.ticking {
		t.Error("no timer after two writes")
	}
	if err := w2.Close(); err != nil || out.String() != "one\ntwo\nab" {
		t.Fatalf("Close: %v, %q", err, out.String())
	}
	w.Close()
	var none lockedBuffer
	if err := newTimedWriter(&none, time.Hour).Close(); err != nil || none.String() != "" {
		t.Fatalf("Close with no write: %v, %q", err, none.String())
	}
}

// A panic in a worker's function reaches the caller as itself, not as the
// pool's mutex misuse.
func TestStreamPanicKept(t *testing.T) {
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want the worker's panic", p)
		}
	}()
	inputs := []input{{path: "a"}}
	stream(inputs, nil, func() func(input) int {
		return func(input) int { panic("boom") }
	}, func(int) {})
}
