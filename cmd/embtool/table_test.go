package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestTableFits: at any terminal width from 60 columns up, every line of
// the table and its notes fits; without a width, nothing is cut.
func TestTableFits(t *testing.T) {
	step := int64(1500)
	ckpt, ckptName := "7ab762a7", "a-rather-long-checkpoint-name_v2"
	name := "a stored name that differs a lot"
	var reports []report
	for i := 0; i < 5; i++ {
		r := report{
			Path: fmt.Sprintf("emb/sub/file-with-a-long-name-%d.safetensors", i), Container: "safetensors",
			Layout: "kohya", Model: "sd1", Vectors: 8, Width: 768, Hash: "944a376a5cda",
			Step: &step, SDCheckpoint: &ckpt, SDCheckpointName: &ckptName, StoredName: &name,
			Tensors:  []tensorReport{{Key: "emb_params", DType: "F32", Shape: []int{8, 768}, Norms: norms{0.3, 0.4}}},
			Norm:     &normSummary{0.3, 0.35, 0.4},
			Warnings: []string{strings.Repeat("a warning that goes on ", 8)},
		}
		r.file = r.Path
		if i == 4 {
			r.Layout, r.Model, r.Width = "sdxl", "sdxl", 2048
			r.Norm, r.NormClipL, r.NormClipG = nil, &normSummary{0.5, 0.5, 0.5}, &normSummary{0.5, 0.5, 0.5}
		}
		reports = append(reports, r)
	}
	reports = append(reports, report{Path: "emb/preview.png", file: "emb/preview.png", kindWords: strings.Repeat("a PNG image ", 10)})
	for width := 60; width <= 200; width += 7 {
		var b bytes.Buffer
		writeTable(&b, reports, false, width)
		for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			if n := utf8.RuneCountInString(line); n > width {
				t.Errorf("width %d: line of %d: %q", width, n, line)
			}
		}
	}
	var b bytes.Buffer
	writeTable(&b, reports, false, 0)
	for _, want := range []string{"HASH", "CHECKPOINT", "a-rather-long-checkpoint-name_v2", "emb/sub/file-with-a-long-name-0.safetensors", "0.5000/0.5000/0.5000"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("full table lacks %q:\n%s", want, b.String())
		}
	}
}
