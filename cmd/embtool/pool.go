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
// whatever order the work finishes in. A progress bar with an ETA is
// drawn on stderr when it is a terminal and there is more than one input.
func forEach[T any](inputs []input, stderr io.Writer, fn func(input) T) []T {
	return forEachItem(inputs, stderr, "files", fn)
}

// forEachItem is forEach over any items; what names them on the bar.
func forEachItem[I, T any](items []I, stderr io.Writer, what string, fn func(I) T) []T {
	out := make([]T, len(items))
	bar, done := progressBar(int64(len(items)), stderr, decor.CountersNoUnit("%d/%d "+what))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), max(len(items), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				out[i] = fn(items[i])
				if bar != nil {
					bar.Increment()
				}
			}
		}()
	}
	for i := range items {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	done()
	return out
}

// progressBar returns a bar counting to total, or nil when stderr is not
// a terminal (CI, pipes, tests) or there is a single item. It shows the
// count, the percentage and an ETA, and is removed when complete.
func progressBar(total int64, stderr io.Writer, counter decor.Decorator) (*mpb.Bar, func()) {
	if total < 2 || !terminal(stderr) {
		return nil, func() {}
	}
	p := mpb.New(mpb.WithOutput(stderr.(*os.File)), mpb.WithWidth(30))
	bar := p.AddBar(total,
		mpb.PrependDecorators(counter),
		mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.Name(" ETA "), decor.AverageETA(decor.ET_STYLE_MMSS)),
		mpb.BarRemoveOnComplete())
	return bar, p.Wait
}
