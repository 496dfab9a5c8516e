package main

import (
	"bytes"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/pkg/embedding"
)

// checkReportJSON holds appendReportJSON to encoding/json (marshalReflect).
func checkReportJSON(t *testing.T, what string, r report) {
	t.Helper()
	want, wantErr := r.marshalReflect()
	got, ok := appendReportJSON(nil, r)
	if wantErr != nil {
		if ok {
			t.Errorf("%s: written although encoding/json fails (%v):\n%s", what, wantErr, got)
		}
		if _, err := r.MarshalJSON(); err == nil || err.Error() != wantErr.Error() {
			t.Errorf("%s: MarshalJSON error %v, want %v", what, err, wantErr)
		}
		return
	}
	if !ok || !bytes.Equal(got, want) {
		t.Errorf("%s: ok %v\n got %s\nwant %s", what, ok, got, want)
	}
}

// Every fixture, corrupt and malicious file as inspect reads it.
func TestReportJSONFixtures(t *testing.T) {
	var paths []string
	for _, dir := range []string{"fixtures", "corrupt", "malicious", "kinds", "checksum", "attacks"} {
		m, _ := filepath.Glob(filepath.Join("..", "..", "testdata", dir, "*"))
		paths = append(paths, m...)
	}
	if len(paths) < 50 {
		t.Fatalf("only %d test files", len(paths))
	}
	rd := &embedding.Reader{}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		for _, checksum := range []bool{false, true} {
			r := inspectFile(p, rd, checksum)
			r.e = nil
			checkReportJSON(t, p, r)
		}
	}
}

// Random reports: every field nil, empty or set, strings with every kind
// of character encoding/json escapes, floats at the format cut-offs.
func TestReportJSONRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	pieces := []string{"", "a", "émoji 🙂", "\"", "\\", "\n\r\t\b\f", "\x00\x01\x1f", "\x7f", "<>&", "\xff", "\xc3", "\xe2\x80",
		"\u2028", "\u2029", "\ufffd", "/", "'", " ", "<birb-style>", "\u200b"}
	str := func() string {
		s := ""
		for k := rng.Intn(4); k > 0; k-- {
			s += pieces[rng.Intn(len(pieces))]
		}
		return s
	}
	strPtr := func() *string {
		if rng.Intn(3) == 0 {
			return nil
		}
		s := str()
		return &s
	}
	strs := func() []string {
		switch rng.Intn(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		var ss []string
		for k := rng.Intn(3) + 1; k > 0; k-- {
			ss = append(ss, str())
		}
		return ss
	}
	floats := []float64{0, math.Copysign(0, -1), 1, -1, 0.38250211, 1e-6, 9.99999e-7, 1e-7, 1.5e-300, 5e-324, 1e20, 1e21, 9.99e20,
		123456789.125, math.MaxFloat64, -2.5e-8, 4.841180916098634, 1.0 / 3}
	nonFinite := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	float := func(allowNonFinite bool) float64 {
		if allowNonFinite && rng.Intn(8) == 0 {
			return nonFinite[rng.Intn(len(nonFinite))]
		}
		return floats[rng.Intn(len(floats))]
	}
	normList := func() norms {
		if rng.Intn(4) == 0 {
			return nil
		}
		n := norms{}
		for k := rng.Intn(4); k > 0; k-- {
			n = append(n, float(true))
		}
		return n
	}
	summary := func() *normSummary {
		if rng.Intn(2) == 0 {
			return nil
		}
		return &normSummary{float(true), float(true), float(true)}
	}
	for i := 0; i < 20000; i++ {
		r := report{Path: str(), OK: rng.Intn(2) == 0, Skipped: rng.Intn(2) == 0, Kind: str(), Error: str(), Name: str(),
			StoredName: strPtr(), Layout: str(), Model: str(), Vectors: rng.Intn(100) - 1, Width: rng.Intn(5000),
			Token: str(), Norm: summary(), NormClipL: summary(), NormClipG: summary(), SDCheckpoint: strPtr(),
			SDCheckpointName: strPtr(), SHA256: str(), Hash: str(), Checksum: strPtr(), Unsafe: strs(), Warnings: strs(),
			NearestKey: str()}
		if rng.Intn(4) != 0 {
			r.Container = str() + "c" // "" is the failed form, tested below
		}
		if rng.Intn(3) != 0 {
			r.Tensors = []tensorReport{}
			for k := rng.Intn(3); k > 0; k-- {
				tr := tensorReport{Key: str(), DType: str(), Norms: normList()}
				if rng.Intn(4) != 0 {
					tr.Shape = []int{rng.Intn(100), rng.Intn(3000) - 1}
				}
				r.Tensors = append(r.Tensors, tr)
			}
		}
		if rng.Intn(2) == 0 {
			st := rng.Int63() - rng.Int63()
			r.Step = &st
		}
		switch rng.Intn(3) {
		case 0:
			r.Metadata = map[string]string{}
		case 1:
			r.Metadata = map[string]string{}
			for k := rng.Intn(5) + 1; k > 0; k-- {
				r.Metadata[str()] = str()
			}
		}
		for k := rng.Intn(3); k > 0; k-- {
			r.Strength = append(r.Strength, strengthReport{Key: str(), Encoder: str(), VocabMeanNorm: float(rng.Intn(10) == 0),
				Source: str(), Ratios: normList()})
		}
		if rng.Intn(2) == 0 {
			r.Nearest = [][]nearestHit{}
			for k := rng.Intn(3) + 1; k > 0; k-- {
				var hits []nearestHit
				for h := rng.Intn(3); h > 0; h-- {
					hits = append(hits, nearestHit{ID: rng.Intn(49408), Token: str(), Cos: float(rng.Intn(20) == 0)})
				}
				r.Nearest = append(r.Nearest, hits)
			}
		}
		checkReportJSON(t, "random report", r)
		if t.Failed() {
			return
		}
	}
}

// Any string, as encoding/json quotes it without HTML escaping.
func FuzzReportJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "\xff\xfe", "\u2028\u2029", "<&>", "\xe2\x80\xa8"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkReportJSON(t, "fuzzed strings", report{Path: s, Container: s + "c", Kind: s, Warnings: []string{s}, Metadata: map[string]string{s: s}})
		checkReportJSON(t, "fuzzed strings, failed form", report{Path: s, Error: s, Unsafe: []string{s}})
	})
}
