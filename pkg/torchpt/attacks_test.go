package torchpt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/sniff"
	"github.com/embtool/embtool/internal/testcorpus"
)

const tpAttacks = "../../testdata/attacks/pickle"

// TestScanFilePickleAttacks holds ScanFile to testdata/attacks/pickle
// (made by testdata/gen/gen_pickle_attacks.py, whose --check shows that
// torch.load runs every payload): each file is unsafe, and the report
// names every expected reason. Open refuses each one.
func TestScanFilePickleAttacks(t *testing.T) {
	recs := testcorpus.JSONL(t, filepath.Join(tpAttacks, "expected.jsonl"))
	if len(recs) < 13 {
		t.Fatalf("only %d attack files", len(recs))
	}
	for _, exp := range recs {
		name := exp["file"].(string)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(tpAttacks, name))
			if err != nil {
				t.Fatal(err)
			}
			s := ScanFile(bytes.NewReader(b), int64(len(b)))
			report := tpScanReport(s)
			if v := s.Verdict(); v != VerdictUnsafe {
				t.Errorf("verdict %s, want unsafe: %s", v, report)
			}
			for _, r := range exp["reasons"].([]any) {
				if !strings.Contains(report, r.(string)) {
					t.Errorf("report %q does not name %q", report, r)
				}
			}
			if _, err := tpOpen(b); err == nil {
				t.Error("Open accepted it")
			} else if sniff.IsZip(b) && !errors.Is(err, ErrUnsafe) {
				t.Errorf("Open: %v, want ErrUnsafe", err)
			}
		})
	}
}
