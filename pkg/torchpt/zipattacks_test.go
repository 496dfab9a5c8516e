package torchpt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
)

const tpZipAttacks = "../../testdata/attacks/zip"

// TestZipAttacks holds every file of testdata/attacks/zip (made by
// testdata/gen/gen_zip_attacks.py, whose --check proves torch.load runs
// each payload) to its label: scan says unsafe with the labelled reason,
// and the reader refuses it as unsafe.
func TestZipAttacks(t *testing.T) {
	labels := testcorpus.JSONL(t, filepath.Join(tpZipAttacks, "labels.jsonl"))
	if len(labels) < 15 {
		t.Fatalf("only %d zip attack files", len(labels))
	}
	for _, lab := range labels {
		name := lab["file"].(string)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(tpZipAttacks, name))
			if err != nil {
				t.Fatal(err)
			}
			s := ScanFile(strings.NewReader(string(b)), int64(len(b)))
			if v := s.Verdict(); v != VerdictUnsafe {
				t.Fatalf("scan verdict %s (err %v), want unsafe", v, s.Err)
			}
			var msgs []string
			for _, f := range s.Findings() {
				msgs = append(msgs, f.String())
			}
			msg := strings.Join(msgs, "; ")
			want := lab["reason_contains"].(string)
			if !strings.Contains(strings.ToLower(msg), strings.ToLower(want)) {
				t.Errorf("findings %q do not say %q", msg, want)
			}
			if hints, _ := lab["reason_any"].([]any); len(hints) > 1 {
				rest := map[string]any{"reason_any": hints[1:]}
				if !testcorpus.ReasonMatches(msg, rest) {
					t.Errorf("findings %q name none of %v", msg, hints[1:])
				}
			}
			_, err = tpOpen(b)
			if !errors.Is(err, ErrUnsafe) {
				t.Errorf("Open error %v, want ErrUnsafe", err)
			}
			if _, err := OpenWith(strings.NewReader(string(b)), int64(len(b)), Options{AllowUnsafe: true}); err == nil && want != "posix.system" {
				t.Errorf("Open with AllowUnsafe read an ambiguous or TorchScript archive")
			}
		})
	}
}

// TestTorchSaveFilesStaySafe: every file torch.save made (fixtures,
// checkpoints) and every real corpus file scans safe and opens.
func TestTorchSaveFilesStaySafe(t *testing.T) {
	dirs := []string{"../../testdata/fixtures", "../../testdata/checkpoint", testcorpus.Dir(t)}
	n := 0
	for _, dir := range dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			ext := filepath.Ext(e.Name())
			if e.IsDir() || ext == ".json" || ext == ".jsonl" || ext == ".md" {
				continue
			}
			path := filepath.Join(dir, e.Name())
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s := ScanFile(strings.NewReader(string(b)), int64(len(b)))
			if v := s.Verdict(); v != VerdictSafe {
				t.Errorf("%s: scan verdict %s: %v %v", path, v, s.Findings(), s.Err)
			}
			if s.Format == FormatZip {
				n++
				if len(s.Records) == 0 {
					t.Errorf("%s: no records listed", path)
				}
				if _, err := tpOpen(b); err != nil {
					t.Errorf("%s: %v", path, err)
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d torch zip files checked", n)
	}
}
