package embedding

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/embtool/embtool/pkg/tensor"
)

// checkpointExpected is testdata/checkpoint/expected.json, torch's reading
// of the generated checkpoints (testdata/gen/gen_checkpoint.py).
type checkpointExpected struct {
	Tensors map[string]struct {
		DType  string `json:"dtype"`
		Shape  []int  `json:"shape"`
		SHA256 string `json:"sha256"`
	} `json:"tensors"`
	NonTensor []string   `json:"non_tensor"`
	Aliased   [][]string `json:"aliased"`
}

func readCheckpointExpected(t *testing.T) checkpointExpected {
	t.Helper()
	b, err := os.ReadFile("../../testdata/checkpoint/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var exp checkpointExpected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return exp
}

// checkDict loads every tensor of d and compares it with torch's bytes.
func checkDict(t *testing.T, what string, d *TensorDict, exp checkpointExpected) {
	t.Helper()
	if len(d.Keys) != len(exp.Tensors) {
		t.Errorf("%s: %d tensors %v, want %d", what, len(d.Keys), d.Keys, len(exp.Tensors))
	}
	for i, k := range d.Keys {
		want, ok := exp.Tensors[k]
		if !ok {
			t.Errorf("%s: unexpected key %q", what, k)
			continue
		}
		tt, err := d.Sources[i].Load()
		if err != nil {
			t.Fatalf("%s: %s: %v", what, k, err)
		}
		sum := sha256.Sum256(tt.Data)
		if hex.EncodeToString(sum[:]) != want.SHA256 || !slices.Equal(tt.Shape, want.Shape) {
			t.Errorf("%s: %s is %s%v with other bytes than torch's %s%v", what, k, tt.DType, tt.Shape, want.DType, want.Shape)
		}
	}
}

// TestConvertCheckpoint converts generated checkpoints (nested dicts, a
// storage-offset view, a transposed view, an aliased tensor, views sharing
// a storage, F32/F16/BF16/I64, zip and legacy) to .safetensors and .pt and
// checks every tensor bit for bit against torch.
func TestConvertCheckpoint(t *testing.T) {
	exp := readCheckpointExpected(t)
	for _, name := range []string{"mini.ckpt", "mini_legacy.ckpt"} {
		t.Run(name, func(t *testing.T) {
			d, err := OpenTensorDict(filepath.Join("../../testdata/checkpoint", name), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			checkDict(t, name, d, exp)
			if name == "mini.ckpt" && !slices.Equal(d.Skipped, exp.NonTensor) {
				t.Errorf("skipped %v, want %v", d.Skipped, exp.NonTensor)
			}
			warnings := strings.Join(d.Warnings(), "\n")
			for _, g := range exp.Aliased {
				if !strings.Contains(warnings, strings.Join(g, ", ")) {
					t.Errorf("no warning that %v share storage in %q", g, warnings)
				}
			}
			dir := t.TempDir()
			for _, format := range []string{FormatSafetensors, FormatPT} {
				out := filepath.Join(dir, "out."+format)
				if err := SaveTensorDict(out, d, format, "", false); err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				back, err := OpenTensorDict(out, Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkDict(t, name+" → "+format, back, exp)
				back.Close()
				if err := SaveTensorDict(out, d, format, "", false); err == nil || !strings.Contains(err.Error(), "already exists") {
					t.Errorf("overwrote without force: %v", err)
				}
			}
			// Narrowing converts float tensors only.
			out := filepath.Join(dir, "half.safetensors")
			if err := SaveTensorDict(out, d, FormatSafetensors, tensor.F16, false); err != nil {
				t.Fatal(err)
			}
			back, err := OpenTensorDict(out, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer back.Close()
			for i, k := range back.Keys {
				dt, _ := back.Sources[i].Meta()
				if want := exp.Tensors[k].DType; (want == "int64") != (dt == tensor.I64) || (want != "int64" && dt != tensor.F16) {
					t.Errorf("%s: %s after --dtype F16 (was %s)", k, dt, want)
				}
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), TempPrefix) {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
		})
	}
}
