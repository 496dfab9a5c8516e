package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"strings"

	"github.com/embtool/embtool/internal/jsonstr"
	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/identify"
	"github.com/embtool/embtool/pkg/torchpt"
)

// tensorReport is one entry of "tensors" in inspect --json.
type tensorReport struct {
	Key   string `json:"key"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Norms norms  `json:"norms"`
}

// norms are per-vector L2 norms. JSON has no NaN or Infinity, so a norm
// that is not finite (the file holds NaN/Inf values, which the warnings
// name) is written as null.
type norms []float64

// appendJSON writes each norm with the shortest repr that reads back to
// the same float64, and null where it is not finite.
func (n norms) appendJSON(b []byte) []byte {
	b = append(b, '[')
	for i, x := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONFloat(b, x)
	}
	return append(b, ']')
}

// MarshalJSON is appendJSON, for encoding/json (--clip's strength ratios).
func (n norms) MarshalJSON() ([]byte, error) { return n.appendJSON(nil), nil }

// appendJSONFloat appends x in the shortest repr that reads back to the
// same float64, or null where it is not finite (JSON has no NaN or
// Infinity).
func appendJSONFloat(b []byte, x float64) []byte { return jsonstr.AppendFloat(b, x) }

// report is one line of inspect --json (design.md §1). Field names are
// stable; fields may be added.
type report struct {
	Path       string         `json:"path"`
	OK         bool           `json:"ok"`
	Skipped    bool           `json:"skipped,omitempty"`
	Kind       string         `json:"kind"`
	Error      string         `json:"error,omitempty"`
	Name       string         `json:"name,omitempty"`
	StoredName *string        `json:"stored_name"`
	Container  string         `json:"container,omitempty"`
	Layout     string         `json:"layout,omitempty"`
	Model      string         `json:"model,omitempty"`
	Vectors    int            `json:"vectors"`
	Width      int            `json:"width"`
	Token      string         `json:"token,omitempty"`
	Tensors    []tensorReport `json:"tensors"`
	// Norm summarises the vectors' L2 norms; an SDXL embedding has one
	// summary per encoder instead (NormClipL, NormClipG), as merge --norm
	// sets each encoder.
	Norm             *normSummary      `json:"norm,omitempty"`
	NormClipL        *normSummary      `json:"norm_clip_l,omitempty"`
	NormClipG        *normSummary      `json:"norm_clip_g,omitempty"`
	Step             *int64            `json:"step"`
	SDCheckpoint     *string           `json:"sd_checkpoint"`
	SDCheckpointName *string           `json:"sd_checkpoint_name"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	SHA256           string            `json:"sha256,omitempty"`
	Hash             string            `json:"hash,omitempty"`
	Checksum         *string           `json:"checksum"`
	Unsafe           []string          `json:"unsafe,omitempty"`
	Warnings         []string          `json:"warnings"`
	Strength         []strengthReport  `json:"strength,omitempty"`
	Nearest          [][]nearestHit    `json:"nearest,omitempty"`
	NearestKey       string            `json:"nearest_key,omitempty"`
	// rowNorms are the per-vector norms (SDXL: of concatenated rows), for the table.
	rowNorms []float64
	// kindWords describes a file that is not an embedding, for the table.
	kindWords string
	// file is the path shown in the table: relative to the folder
	// argument it was found under, or as named.
	file string
	// other: a well-formed file that is not an embedding (a folder walk
	// skips it).
	other bool
	// hints are advice for the whole run, said once on stderr.
	hints []string
	// line is the report as a JSON line for inspect --json, encoded by
	// the worker that read the file; lineErr says why it could not be.
	// The buffer comes from inspect's pool and goes back once written.
	line    *[]byte
	lineErr error
	// e is the embedding read, kept until --nearest has used it.
	e *embedding.Embedding
}

// failedReport is the short form of a file that could not be read.
type failedReport struct {
	Path    string   `json:"path"`
	OK      bool     `json:"ok"`
	Skipped bool     `json:"skipped,omitempty"`
	Kind    string   `json:"kind"`
	Error   string   `json:"error"`
	SHA256  string   `json:"sha256,omitempty"`
	Hash    string   `json:"hash,omitempty"`
	Unsafe  []string `json:"unsafe,omitempty"`
}

// MarshalJSON writes an unreadable file as {"path", "ok": false, "error"}
// (design.md §1); a readable one with every field (see appendJSON).
func (r report) MarshalJSON() ([]byte, error) { return r.appendJSON(nil) }

// promptName is the keyword A1111 uses: the file name without its last
// extension; for images, the name stored inside (A1111 load_from_file).
func promptName(path string, e *embedding.Embedding) string {
	base := filepath.Base(path)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	if e != nil && e.Container == embedding.ContainerPNG && e.StoredName != nil {
		return *e.StoredName
	}
	return name
}

// inspectFile reads one file into its report. The report is not OK when
// the file cannot be read, is unsafe, or holds no loadable embedding.
// The legacy checksum is a serial hash over every value; only JSON output,
// which shows it, asks for it (withChecksum).
// It reads through rd, whose buffer the embedding shares until rd's next
// Read: nothing in the report points into it.
func inspectFile(path string, rd *embedding.Reader, withChecksum bool) report {
	r := report{Path: path, Warnings: []string{}, Tensors: []tensorReport{}}
	e, sum, err := rd.Read(path)
	if sum != "" {
		r.SHA256, r.Hash = sum, sum[:12]
	}
	r.Kind = string(identify.KindEmbedding)
	if err != nil {
		r.Error = fileError(path, err)
		r.Kind = string(identify.KindUnknown)
		if id := embedding.Identified(err); id != nil {
			r.Kind = string(id.Kind)
			if id.Kind != identify.KindEmbedding && id.Kind != identify.KindUnknown {
				r.kindWords = id.Description()
			}
			r.other = id.Err == nil && errors.Is(err, embedding.ErrNotEmbedding)
		}
		var ue *torchpt.UnsafeError
		if id := embedding.Identified(err); errors.As(err, &ue) || id != nil && errors.As(id.Err, &ue) {
			for _, f := range ue.Findings {
				r.Unsafe = append(r.Unsafe, f.String())
			}
		}
		return r
	}
	r.e = e
	r.OK = e.Refusal == "" && len(e.Unsafe) == 0
	if e.Refusal != "" {
		r.Error = e.Refusal
	}
	r.Name = promptName(path, e)
	r.StoredName = e.StoredName
	r.Container = e.Container
	r.Layout = string(e.Layout)
	r.Model = string(e.Model)
	r.Vectors, r.Width = e.Count, e.Width
	r.Token = e.Token
	r.Step, r.SDCheckpoint, r.SDCheckpointName = e.Step, e.SDCheckpoint, e.SDCheckpointName
	r.Metadata = e.Metadata
	r.Unsafe = e.Unsafe
	if withChecksum {
		if c, ok := e.Checksum(); ok {
			r.Checksum = &c
		}
	}
	for i, t := range e.Vectors {
		r.Tensors = append(r.Tensors, tensorReport{Key: t.Key, DType: string(t.Tensor.DType), Shape: t.Tensor.Shape, Norms: e.VectorNorms(i)})
	}
	if len(e.Vectors) == 0 { // refused: show what was found
		for _, t := range e.All {
			r.Tensors = append(r.Tensors, tensorReport{Key: t.Key, DType: string(t.Tensor.DType), Shape: t.Tensor.Shape, Norms: embedding.Norms(t.Tensor)})
		}
	}
	r.rowNorms = e.RowNorms()
	if e.Layout == embedding.LayoutSDXL {
		for _, t := range r.Tensors {
			switch t.Key {
			case embedding.KeyClipL:
				r.NormClipL = summarise(t.Norms)
			case embedding.KeyClipG:
				r.NormClipG = summarise(t.Norms)
			}
		}
	} else if len(r.Tensors) > 0 {
		r.Norm = summarise(r.rowNorms)
	}
	r.Warnings = append(r.Warnings, e.Warnings...)
	if e.StoredName != nil && *e.StoredName != r.Name && e.Container != embedding.ContainerPNG {
		r.Warnings = append(r.Warnings, fmt.Sprintf("stored name %q differs from the file name: A1111 and ComfyUI use the file name %q; diffusers uses the stored name %q", *e.StoredName, r.Name, *e.StoredName))
	}
	return r
}

// normSummary is the least, mean and largest of a set of norms (null in
// JSON where not finite).
type normSummary struct {
	Min  float64 `json:"-"`
	Mean float64 `json:"-"`
	Max  float64 `json:"-"`
}

// appendJSON writes {"min","mean","max"}, with null for a non-finite value.
func (s *normSummary) appendJSON(b []byte) []byte {
	b = appendJSONFloat(append(b, `{"min":`...), s.Min)
	b = appendJSONFloat(append(b, `,"mean":`...), s.Mean)
	b = appendJSONFloat(append(b, `,"max":`...), s.Max)
	return append(b, '}')
}

// MarshalJSON is appendJSON, for encoding/json.
func (s normSummary) MarshalJSON() ([]byte, error) { return s.appendJSON(nil), nil }

func summarise(ns []float64) *normSummary {
	if len(ns) == 0 {
		return nil
	}
	s := &normSummary{Min: math.Inf(1), Max: math.Inf(-1)}
	for _, n := range ns {
		s.Min, s.Max = math.Min(s.Min, n), math.Max(s.Max, n)
		s.Mean += n
	}
	s.Mean /= float64(len(ns))
	return s
}

// fileError is err's text for a line that already names path: an
// *fs.PathError about that same path is said without it ("open X: is a
// named pipe" under "X:" would name X twice).
func fileError(path string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path && err == error(pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}
