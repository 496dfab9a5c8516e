package main

import (
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// forEach runs fn over the inputs on a bounded pool of workers (one per
// CPU) and returns the results in input order, so output is stable
// whatever order the work finishes in. A progress bar is drawn on stderr
// when it is a terminal and there is more than one input.
func forEach[T any](inputs []input, stderr io.Writer, fn func(input) T) []T {
	out := make([]T, len(inputs))
	bar, done := progressBar(len(inputs), stderr)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), max(len(inputs), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = fn(inputs[i])
				if bar != nil {
					bar.Increment()
				}
			}
		}()
	}
	for i := range inputs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	done()
	return out
}

// progressBar returns a bar, or nil when stderr is not a terminal (CI,
// pipes, tests) or there is a single file.
func progressBar(total int, stderr io.Writer) (*mpb.Bar, func()) {
	f, ok := stderr.(*os.File)
	if !ok || total < 2 {
		return nil, func() {}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil, func() {}
	}
	p := mpb.New(mpb.WithOutput(f), mpb.WithWidth(40))
	bar := p.AddBar(int64(total),
		mpb.PrependDecorators(decor.CountersNoUnit("%d/%d files")),
		mpb.AppendDecorators(decor.Percentage()),
		mpb.BarRemoveOnComplete())
	return bar, p.Wait
}

// stream runs the function each worker gets from newWorker (one per CPU,
// so a worker can keep buffers between its inputs) over the inputs, and
// calls emit with each result in input order as soon as it and every one
// before it are done. At most a few results per worker wait to be
// emitted, so memory does not grow with the number of inputs. idle, when
// not nil, is called before emit has to wait (to flush buffered output).
func stream[T any](inputs []input, stderr io.Writer, newWorker func() func(input) T, emit func(T), idle func()) {
	workers := min(runtime.GOMAXPROCS(0), max(len(inputs), 1))
	window := 4 * workers
	// Result i goes to slot i%window; input i+window is handed out only
	// after result i was emitted (tokens), so a slot holds one result.
	slots := make([]chan T, window)
	for i := range slots {
		slots[i] = make(chan T, 1)
	}
	tokens := make(chan struct{}, window)
	jobs := make(chan int)
	for w := 0; w < workers; w++ {
		go func() {
			fn := newWorker()
			for i := range jobs {
				slots[i%window] <- fn(inputs[i])
			}
		}()
	}
	go func() {
		for i := range inputs {
			tokens <- struct{}{}
			jobs <- i
		}
		close(jobs)
	}()
	bar, done := progressBar(len(inputs), stderr)
	for i := range inputs {
		var v T
		select {
		case v = <-slots[i%window]:
		default:
			if idle != nil {
				idle()
			}
			v = <-slots[i%window]
		}
		emit(v)
		<-tokens
		if bar != nil {
			bar.Increment()
		}
	}
	done()
}
