package torchpt

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
)

// TestScanNPYFixtures checks the files testdata/gen/gen_npy.py made with
// real numpy (attacks proven to reach the unpickler through a defanged
// twin) against the verdicts it recorded.
func TestScanNPYFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "npy")
	rows := testcorpus.JSONL(t, filepath.Join(dir, "expected.jsonl"))
	if len(rows) < 9 {
		t.Fatalf("only %d rows in expected.jsonl", len(rows))
	}
	for _, row := range rows {
		name := row["file"].(string)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !IsNPY(b) {
			t.Errorf("%s: IsNPY false", name)
		}
		s := ScanNPY(bytes.NewReader(b), int64(len(b)))
		if got, want := s.Verdict(), row["verdict"].(string); got != want {
			t.Errorf("%s (%s): verdict %s, want %s (err %v, findings %v)", name, row["what"], got, want, s.Err, s.Findings())
		}
		if s.Format != FormatNumpy {
			t.Errorf("%s: format %q", name, s.Format)
		}
		if row["verdict"] == "unsafe" && !strings.Contains(findingText(s), "posix.system") {
			t.Errorf("%s: findings %v do not name posix.system", name, s.Findings())
		}
	}
}

func findingText(s *FileScan) string {
	var b strings.Builder
	for _, f := range s.Findings() {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

// npyFile builds a version major.0 .npy around header and data.
func npyFile(major byte, header string, data []byte) []byte {
	b := append([]byte("\x93NUMPY"), major, 0)
	switch major {
	case 1:
		b = append(b, byte(len(header)), byte(len(header)>>8))
	default:
		b = append(b, byte(len(header)), byte(len(header)>>8), byte(len(header)>>16), byte(len(header)>>24))
	}
	return append(append(b, header...), data...)
}

func TestScanNPYEdges(t *testing.T) {
	plain := "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }   \n"
	object := "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }    \n"
	tests := []struct {
		name, verdict, errHas string
		file                  []byte
	}{
		{"plain v1", "safe", "", npyFile(1, plain, []byte{0, 0, 128, 63})},
		{"plain v2", "safe", "", npyFile(2, plain, []byte{0, 0, 128, 63})},
		{"plain v3", "safe", "", npyFile(3, plain, []byte{0, 0, 128, 63})},
		{"version 4.0", "error", "version 4.0", npyFile(4, plain, nil)},
		{"version 1.1", "error", "version 1.1", func() []byte { b := npyFile(1, plain, nil); b[7] = 1; return b }()},
		{"magic only", "error", "not a NumPy", []byte("\x93NUMPY")},
		{"header past the end", "error", "runs past the end", npyFile(1, plain, nil)[:20]},
		{"v2 cut in the length", "error", "truncated", []byte("\x93NUMPY\x02\x00\x05\x00")},
		{"object, empty data", "error", "", npyFile(1, object, nil)},
		{"object, GLOBAL posix.system", "unsafe", "", npyFile(1, object, []byte("cposix\nsystem\n(S'x'\ntR."))},
		{"object descr in a structured dtype", "unsafe", "", npyFile(1, "{'descr': [('a', '|O')], 'fortran_order': False, 'shape': (1,), }\n", []byte("cposix\nsystem\n(S'x'\ntR."))},
		{"plain dtype, trailing key", "unsafe", "", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '|O'}\n", []byte("cposix\nsystem\n(S'x'\ntR."))},
		{"plain dtype, no newline", "error", "", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", []byte{0, 0, 128, 63})},
	}
	for _, tt := range tests {
		s := ScanNPY(bytes.NewReader(tt.file), int64(len(tt.file)))
		if got := s.Verdict(); got != tt.verdict {
			t.Errorf("%s: verdict %s, want %s (err %v)", tt.name, got, tt.verdict, s.Err)
		}
		if tt.errHas != "" && (s.Err == nil || !strings.Contains(s.Err.Error(), tt.errHas)) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, s.Err, tt.errHas)
		}
	}
}

// TestScanNPYTruncations: no panic, never safe for a cut object array.
func TestScanNPYTruncations(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "npy", "object_system.npy"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(b); n++ {
		s := ScanNPY(bytes.NewReader(b[:n]), int64(n))
		if s.Verdict() == VerdictSafe {
			t.Errorf("cut at %d: safe", n)
		}
	}
}
