package identify

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
)

// TestRealTorchKinds: files written by real torch.save and torch.jit.save
// (testdata/gen/gen_kinds.py) get the kind, format, base and rank
// expected.jsonl gives.
func TestRealTorchKinds(t *testing.T) {
	dir := "../../testdata/kinds"
	exps := testcorpus.JSONL(t, filepath.Join(dir, "expected.jsonl"))
	if len(exps) < 9 {
		t.Fatalf("only %d files", len(exps))
	}
	for _, exp := range exps {
		name := exp["file"].(string)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		res := File(bytes.NewReader(b), int64(len(b)), name)
		if string(res.Kind) != exp["kind"] {
			t.Errorf("%s: kind %s (%s, err %v), want %s", name, res.Kind, res.Description(), res.Err, exp["kind"])
			continue
		}
		if f, ok := exp["format"].(string); ok && res.Format != f {
			t.Errorf("%s: format %q, want %q", name, res.Format, f)
		}
		if base, ok := exp["base"].(string); ok && res.Base != base {
			t.Errorf("%s: base %q, want %q", name, res.Base, base)
		}
		if r, ok := exp["rank"].(float64); ok && (res.RankMin != int(r) || res.RankMax != int(r)) {
			t.Errorf("%s: rank %d–%d, want %v", name, res.RankMin, res.RankMax, r)
		}
		if res.Kind != KindTorchScript && res.Err != nil {
			t.Errorf("%s: %v", name, res.Err)
		}
	}
}
