package scan

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/pkg/torchpt"
)

func scanPath(t *testing.T, path string) *Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	return File(bytes.NewReader(data), int64(len(data)))
}

func TestFile(t *testing.T) {
	for _, tc := range []struct {
		path, verdict, format string
	}{
		{"fixtures/a1111_f32.pt", torchpt.VerdictSafe, torchpt.FormatZip},
		{"fixtures/legacy_a1111_f32.pt", torchpt.VerdictSafe, torchpt.FormatLegacy},
		{"fixtures/kohya_f32.safetensors", torchpt.VerdictSafe, NoPickle},
		{"fixtures/png_plain.png", torchpt.VerdictSafe, NoPickle},
		{"malicious/posix_system.pkl", torchpt.VerdictUnsafe, ""},
		{"corrupt/header_len_2_63.safetensors", torchpt.VerdictError, NoPickle},
	} {
		r := scanPath(t, tc.path)
		if r.Verdict != tc.verdict || (tc.format != "" && r.Format != tc.format) {
			t.Errorf("%s: verdict %s format %q (err %v), want %s %q", tc.path, r.Verdict, r.Format, r.Err, tc.verdict, tc.format)
		}
		if r.Verdict == torchpt.VerdictUnsafe && len(r.Findings) == 0 {
			t.Errorf("%s: unsafe without findings", tc.path)
		}
	}
}

func TestFileDataFormats(t *testing.T) {
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00")
	if r := File(bytes.NewReader(jpeg), int64(len(jpeg))); r.Verdict != torchpt.VerdictSafe {
		t.Errorf("JPEG: %s %v", r.Verdict, r.Err)
	}
	text := []byte("# notes, not a model\n")
	r := File(bytes.NewReader(text), int64(len(text)))
	if r.Verdict != torchpt.VerdictError || !errors.Is(r.Err, ErrUnknownFormat) {
		t.Errorf("text: %s %v", r.Verdict, r.Err)
	}
}
