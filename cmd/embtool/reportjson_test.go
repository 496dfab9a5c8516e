package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/embedding"
)

// encodingJSON is the oracle: what encoding/json writes for r, with HTML
// escaping off, through the struct tags of report (the short form for an
// unreadable file).
func encodingJSON(t *testing.T, r report) string {
	t.Helper()
	type plain report // without report's MarshalJSON
	var v any = plain(r)
	if r.Container == "" {
		kind := r.Kind
		if kind == "" {
			kind = "unknown"
		}
		v = failedReport{r.Path, false, r.Skipped, kind, r.Error, r.SHA256, r.Hash, r.Unsafe}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("%s: encoding/json: %v", r.Path, err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func checkReportJSON(t *testing.T, r report) {
	t.Helper()
	got, err := r.MarshalJSON()
	if err != nil {
		t.Fatalf("%s: %v", r.Path, err)
	}
	if want := encodingJSON(t, r); string(got) != want {
		t.Fatalf("%q:\n got %s\nwant %s", r.Path, got, want)
	}
}

// TestReportJSONMatchesEncodingJSON: inspect's hand-written JSON is byte
// for byte what encoding/json writes, for the report of every file under
// testdata (embeddings of every layout, refused, corrupt, hostile and
// unsafe files, other kinds) and the real corpus when it is there.
func TestReportJSONMatchesEncodingJSON(t *testing.T) {
	rd := &embedding.Reader{}
	check := func(t *testing.T, root string) {
		n := 0
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			if info, err := d.Info(); err != nil || info.Size() > 8<<20 {
				return nil
			}
			r := inspectFile(p, rd, true)
			r.e = nil
			checkReportJSON(t, r)
			n++
			return nil
		})
		if n < 40 {
			t.Fatalf("%s: only %d files checked", root, n)
		}
	}
	check(t, filepath.Join("..", "..", "testdata"))
	t.Run("corpus", func(t *testing.T) { check(t, testcorpus.Dir(t)) })
}

// TestReportJSONStrings: hostile and odd text in every string field —
// control characters, quotes, backslashes, <>&, U+2028/2029, invalid and
// truncated UTF-8, NUL — and the null/empty/omitted forms of every field.
func TestReportJSONStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	pieces := []string{"", "a", "\"", "\\", "\n", "\r\t\b\f", "\x00", "\x1f", "\x7f", "<>&", "\u2028", "\u2029", "é", "日本", "🙂", "\xff", "\xe2\x80", "\xed\xa0\x80", "\u00a0", "</script>"}
	str := func() string {
		var b strings.Builder
		for i := rng.IntN(5); i > 0; i-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	ptr := func() *string {
		if rng.IntN(3) == 0 {
			return nil
		}
		s := str()
		return &s
	}
	floats := []float64{0, 1, 0.1, 1e-300, 1e300, 123456789.125, math.NaN(), math.Inf(1), math.Inf(-1)}
	for trial := 0; trial < 3000; trial++ {
		r := report{Path: str(), OK: rng.IntN(2) == 0, Skipped: rng.IntN(2) == 0, Kind: str(), Error: str(),
			Name: str(), StoredName: ptr(), Layout: str(), Model: str(), Vectors: rng.IntN(100) - 1, Width: rng.IntN(2000),
			Token: str(), SDCheckpoint: ptr(), SDCheckpointName: ptr(), SHA256: str(), Hash: str(), Checksum: ptr(),
			NearestKey: str()}
		if rng.IntN(4) > 0 {
			r.Container = str() + "x"
		}
		if rng.IntN(2) == 0 {
			s := rng.Int64() - rng.Int64()
			r.Step = &s
		}
		switch rng.IntN(3) {
		case 1:
			r.Tensors = []tensorReport{}
		case 2:
			for i := rng.IntN(3); i >= 0; i-- {
				tr := tensorReport{Key: str(), DType: str()}
				if rng.IntN(3) > 0 {
					tr.Shape = []int{rng.IntN(80), rng.IntN(2000)}
				}
				for j := rng.IntN(4); j > 0; j-- {
					tr.Norms = append(tr.Norms, floats[rng.IntN(len(floats))])
				}
				r.Tensors = append(r.Tensors, tr)
			}
		}
		for _, s := range []**normSummary{&r.Norm, &r.NormClipL, &r.NormClipG} {
			if rng.IntN(2) == 0 {
				*s = &normSummary{floats[rng.IntN(len(floats))], floats[rng.IntN(len(floats))], floats[rng.IntN(len(floats))]}
			}
		}
		if rng.IntN(2) == 0 {
			r.Metadata = map[string]string{}
			for i := rng.IntN(4); i > 0; i-- {
				r.Metadata[str()] = str()
			}
		}
		for _, ss := range []*[]string{&r.Unsafe, &r.Warnings} {
			switch rng.IntN(3) {
			case 1:
				*ss = []string{}
			case 2:
				*ss = []string{str(), str()}
			}
		}
		if rng.IntN(4) == 0 {
			r.Strength = []strengthReport{{Key: str(), Encoder: str(), VocabMeanNorm: 0.39, Source: str(), Ratios: norms{1.5, math.NaN()}}}
			r.Nearest = [][]nearestHit{{{ID: 42, Token: str(), Cos: 0.125}}}
		}
		checkReportJSON(t, r)
	}
	// Every invalid UTF-8 byte sequence of length 1 and 2 (prefix bytes).
	for c := 0x80; c < 0x100; c++ {
		s := string([]byte{byte(c), 'a'})
		if !utf8.ValidString(s) {
			checkReportJSON(t, report{Path: s, Container: s, Warnings: []string{s}})
		}
	}
}
