package testcorpus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"testing"
)

// JSONL reads an expected.jsonl of testdata/, one object per line.
func JSONL(t testing.TB, path string) []map[string]any {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	defer fh.Close()
	var out []map[string]any
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// ReasonMatches reports whether msg contains the line's reason_contains or
// one of its reason_any hints, case-insensitively (testdata/gen/README.md).
// A line without hints matches any message.
func ReasonMatches(msg string, exp map[string]any) bool {
	var hints []string
	if s, ok := exp["reason_contains"].(string); ok {
		hints = append(hints, s)
	}
	if l, ok := exp["reason_any"].([]any); ok {
		for _, h := range l {
			if s, ok := h.(string); ok {
				hints = append(hints, s)
			}
		}
	}
	if len(hints) == 0 {
		return true
	}
	for _, h := range hints {
		if strings.Contains(strings.ToLower(msg), strings.ToLower(h)) {
			return true
		}
	}
	return false
}

// Allocated runs fn and returns the bytes it allocated (TotalAlloc delta
// after a GC). Tests that use it must not run in parallel.
func Allocated(fn func()) uint64 {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// MemBound is what reading a hostile file of size bytes may allocate:
// 4 × its size + 1 MiB (issue: bounded memory).
func MemBound(size int) uint64 { return 4*uint64(size) + 1<<20 }
