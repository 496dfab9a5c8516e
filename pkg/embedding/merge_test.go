package embedding

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
)

// mergeCase is one line of testdata/merge/expected.jsonl: an embtool merge
// command line and torch's result for it (testdata/gen/gen_merge.py).
type mergeCase struct {
	Case    string   `json:"case"`
	Args    []string `json:"args"`
	Corpus  bool     `json:"corpus"`
	Outputs map[string]struct {
		Shape  []int  `json:"shape"`
		Values string `json:"values_f32_b64"`
	} `json:"outputs"`
}

// parseMergeArgs turns the recorded command line into inputs and options.
func parseMergeArgs(t *testing.T, args []string) ([]MergeInput, MergeOptions) {
	t.Helper()
	var opts MergeOptions
	var inputs []MergeInput
	num := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for i := 1; i < len(args); i++ {
		switch a := args[i]; a {
		case "--mode":
			i++
			opts.Mode = args[i]
		case "--weights":
			i++
			for _, w := range strings.Split(args[i], ",") {
				opts.Weights = append(opts.Weights, num(w))
			}
		case "--scale", "--norm":
			i++
			v := num(args[i])
			if a == "--scale" {
				opts.Scale = &v
			} else {
				opts.Norm = &v
			}
		case "-o":
			i++
		default:
			path, slice, err := SplitSliceArg(filepath.Join("../..", a))
			if err != nil {
				t.Fatal(err)
			}
			e, sum, err := ReadFile(path, Options{})
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			inputs = append(inputs, MergeInput{Path: path, Slice: slice, SHA256: sum, E: e})
		}
	}
	return inputs, opts
}

// TestMergeAgainstTorch compares every merge with torch's float32 result
// within 1e-6 relative (absolute floor: 1e-6 of the row's largest value,
// for elements that cancel to near zero).
func TestMergeAgainstTorch(t *testing.T) {
	f, err := os.Open("../../testdata/merge/expected.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	n := 0
	for sc.Scan() {
		var c mergeCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		t.Run(c.Case, func(t *testing.T) {
			if c.Corpus {
				testcorpus.Dir(t)
			}
			inputs, opts := parseMergeArgs(t, c.Args)
			got, _, err := Merge(inputs, opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range got.Vectors {
				key := v.Key
				if key == "emb_params" {
					key = "vectors"
				}
				want, ok := c.Outputs[key]
				if !ok {
					t.Fatalf("unexpected output %q", v.Key)
				}
				wantVals := decodeF32(t, want.Values)
				vals, _ := v.Tensor.Float32s()
				rows, width := v.Tensor.Rows()
				if rows != want.Shape[0] || width != want.Shape[1] {
					t.Fatalf("%s: %d×%d, want %v", key, rows, width, want.Shape)
				}
				for r := 0; r < rows; r++ {
					rowMax := 0.0
					for _, x := range wantVals[r*width : (r+1)*width] {
						rowMax = math.Max(rowMax, math.Abs(float64(x)))
					}
					for i := r * width; i < (r+1)*width; i++ {
						g, w := float64(vals[i]), float64(wantVals[i])
						if math.Abs(g-w) > 1e-6*math.Max(math.Abs(w), 1e-3*rowMax) {
							t.Fatalf("%s[%d][%d] = %.9g, torch %.9g", key, r, i-r*width, g, w)
						}
					}
				}
			}
			if len(got.Vectors) != len(c.Outputs) {
				t.Errorf("%d outputs, torch %d", len(got.Vectors), len(c.Outputs))
			}
		})
	}
	if n < 10 {
		t.Errorf("only %d merge cases", n)
	}
}

func decodeF32(t *testing.T, b64 string) []float32 {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// TestMergeExactCases: selecting a row is bit-exact, and --norm gives
// vectors of that norm (zero vectors stay zero).
func TestMergeExactCases(t *testing.T) {
	src := &Embedding{Layout: LayoutKohya, Model: ModelSD1, Vectors: []Named{{"emb_params", mustTensor(t, []int{4, 768})}}}
	src.Count, src.Width = 4, 768
	idx, _ := ParseSlice("[2]")
	got, _, err := Merge([]MergeInput{{Path: "a", Slice: idx, E: src}}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	row := src.Vectors[0].Tensor.Data[2*768*4 : 3*768*4]
	if string(got.Vectors[0].Tensor.Data) != string(row) {
		t.Error("a sliced row is not bit-identical to the source row")
	}
	x := 0.4
	got, _, err = Merge([]MergeInput{{Path: "a", E: src}}, MergeOptions{Norm: &x})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range Norms(got.Vectors[0].Tensor) {
		if math.Abs(n-0.4) > 1e-6 {
			t.Errorf("row %d norm %.9f, want 0.4", i, n)
		}
	}
	var recipe map[string]any
	if err := json.Unmarshal([]byte(got.Metadata[RecipeKey]), &recipe); err != nil || recipe["mode"] != "blend" {
		t.Errorf("recipe %q: %v", got.Metadata[RecipeKey], err)
	}
}

// TestMergeCorpusRow: 'FastNegativeV2.pt[50]' gives one vector equal to
// the source row bit for bit, and --norm 0.4 on badhandv4.pt gives six
// vectors of norm 0.4 ± 1e-6 (the acceptance checks).
func TestMergeCorpusRow(t *testing.T) {
	dir := testcorpus.Dir(t)
	src, _, err := ReadFile(filepath.Join(dir, "FastNegativeV2.pt"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	path, slice, err := SplitSliceArg(filepath.Join(dir, "FastNegativeV2.pt[50]"))
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := Merge([]MergeInput{{Path: path, Slice: slice, E: src}}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	row := src.Vectors[0].Tensor.Data[50*768*4 : 51*768*4]
	if n, _ := got.Vectors[0].Tensor.Rows(); n != 1 || string(got.Vectors[0].Tensor.Data) != string(row) {
		t.Errorf("FastNegativeV2.pt[50]: %d vectors, not the source row bit for bit", n)
	}
	bh, _, err := ReadFile(filepath.Join(dir, "badhandv4.pt"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := 0.4
	got, _, err = Merge([]MergeInput{{Path: "badhandv4.pt", E: bh}}, MergeOptions{Norm: &x})
	if err != nil {
		t.Fatal(err)
	}
	norms := Norms(got.Vectors[0].Tensor)
	if len(norms) != 6 {
		t.Fatalf("%d vectors, want 6", len(norms))
	}
	for i, n := range norms {
		if math.Abs(n-0.4) > 1e-6 {
			t.Errorf("vector %d norm %.9f", i, n)
		}
	}
}
