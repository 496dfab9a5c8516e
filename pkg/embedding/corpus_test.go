package embedding

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
)

// corpusDir is the real-embedding corpus beside the checkout (../shared).
const corpusDir = "../../../shared/corpus/real"

// expectedLine is one line of corpus/real/expected.json: torch's reading.
type expectedLine struct {
	File             string               `json:"file"`
	Error            string               `json:"error"`
	Kind             string               `json:"kind"`
	Keys             []string             `json:"keys"`
	DType            string               `json:"dtype"`
	Vectors          int                  `json:"vectors"`
	Dim              int                  `json:"dim"`
	Norms            []float64            `json:"norms"`
	NormsByKey       map[string][]float64 `json:"norms_by_key"`
	Name             *string              `json:"name"`
	Step             *int64               `json:"step"`
	SDCheckpoint     *string              `json:"sd_checkpoint"`
	SDCheckpointName *string              `json:"sd_checkpoint_name"`
	SHA256           string               `json:"sha256"`
}

func readExpected(t *testing.T, path string) []expectedLine {
	t.Helper()
	testcorpus.Dir(t)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []expectedLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e expectedLine
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var torchDTypes = map[string]string{"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64"}

// TestRealCorpus reads every real embedding and holds it to torch's own
// reading: the same vector count, width, dtype, A1111 fields and sha256,
// norms within 1e-9 relative, and the same files refused.
func TestRealCorpus(t *testing.T) {
	lines := readExpected(t, filepath.Join(corpusDir, "expected.json"))
	if len(lines) < 40 {
		t.Fatalf("expected.json has %d lines, want 40+", len(lines))
	}
	for _, want := range lines {
		t.Run(want.File, func(t *testing.T) {
			e, sum, err := ReadFile(filepath.Join(corpusDir, want.File), Options{})
			if want.SHA256 != "" && sum != want.SHA256 {
				t.Errorf("sha256 %s, want %s", sum, want.SHA256)
			}
			if want.Error != "" {
				if err == nil && e.Refusal == "" {
					t.Fatalf("read fine, but torch's reading refuses it: %s", want.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.Refusal != "" {
				t.Fatalf("refused: %s", e.Refusal)
			}
			if e.Count != want.Vectors || e.Width != want.Dim {
				t.Errorf("%d×%d, want %d×%d", e.Count, e.Width, want.Vectors, want.Dim)
			}
			if got := string(e.Vectors[0].Tensor.DType); got != torchDTypes[want.DType] {
				t.Errorf("dtype %s, want %s", got, want.DType)
			}
			checkNorms(t, "norms", e.RowNorms(), want.Norms)
			for _, v := range e.Vectors {
				if wk, ok := want.NormsByKey[v.Key]; ok {
					checkNorms(t, v.Key, Norms(v.Tensor), wk)
				}
			}
			if want.Kind == "string_to_param" {
				checkStr(t, "name", e.StoredName, want.Name)
				checkStr(t, "sd_checkpoint", e.SDCheckpoint, want.SDCheckpoint)
				checkStr(t, "sd_checkpoint_name", e.SDCheckpointName, want.SDCheckpointName)
				if (e.Step == nil) != (want.Step == nil) || (e.Step != nil && *e.Step != *want.Step) {
					t.Errorf("step %v, want %v", e.Step, want.Step)
				}
			}
		})
	}
}

func checkNorms(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d norms, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > 1e-9*math.Abs(want[i]) {
			t.Errorf("%s[%d] = %.17g, want %.17g (relative error %.3g)", what, i, got[i], want[i], d/math.Abs(want[i]))
		}
	}
}

func checkStr(t *testing.T, what string, got, want *string) {
	t.Helper()
	if (got == nil) != (want == nil) || (got != nil && *got != *want) {
		t.Errorf("%s = %v, want %v", what, show(got), show(want))
	}
}

func show(p *string) any {
	if p == nil {
		return nil
	}
	return *p
}
