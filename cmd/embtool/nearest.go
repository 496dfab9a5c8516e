package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/embtool/embtool/pkg/cliptok"
	"github.com/embtool/embtool/pkg/vocab"
)

// tokenText turns a vocabulary id into readable text, as OpenAI's
// decode([id]) does; "#id" only for an id outside the vocabulary.
func tokenText(id int) string {
	if s, err := cliptok.TokenText(id); err == nil {
		return s
	}
	return "#" + strconv.Itoa(id)
}

// nearestHit is one entry of inspect --json "nearest".
type nearestHit struct {
	ID    int     `json:"id"`
	Token string  `json:"token"`
	Cos   float64 `json:"cos"`
}

// strengthReport compares one tensor's vectors with a word's norm.
type strengthReport struct {
	Key           string  `json:"key"`
	Encoder       string  `json:"encoder"`
	VocabMeanNorm float64 `json:"vocab_mean_norm"`
	Source        string  `json:"source"`
	// Ratios are each vector's norm over VocabMeanNorm.
	Ratios norms `json:"ratios"`
}

// strongRatio: vectors at least this many times a word's norm are warned
// about.
const strongRatio = 3

// refNorm is a vocabulary mean norm known without the model.
type refNorm struct {
	encoder string
	mean    float64
	source  string
}

// refNorms are used when no --clip is given. Only CLIP-L has one; it is
// an approximation: --clip gives the model's own figure.
var refNorms = map[int]refNorm{
	768: {vocab.CLIPL, 0.35, "reference: CLIP-L tokens are about 0.3–0.4 (embtool issue 12; approximate — --clip MODEL gives your model's exact mean)"},
}

var encoderName = map[string]string{vocab.CLIPL: "CLIP-L", vocab.CLIPG: "CLIP-G", vocab.OpenCLIPH: "OpenCLIP-H"}

// vocabSet is a --clip model with its matrices loaded on first use.
type vocabSet struct {
	path  string
	model *vocab.Model
	mu    sync.Mutex
	mats  map[int]*vocab.Matrix
	errs  map[int]error
}

func openVocab(path string) (*vocabSet, error) {
	m, err := vocab.Open(path)
	if err != nil {
		return nil, err
	}
	return &vocabSet{path: path, model: m, mats: map[int]*vocab.Matrix{}, errs: map[int]error{}}, nil
}

func (v *vocabSet) Close() error {
	if v == nil {
		return nil
	}
	return v.model.Close()
}

// matrix loads the model's matrix of this width (768: CLIP-L, 1280:
// CLIP-G, 1024: OpenCLIP-H), or nil when it has none.
func (v *vocabSet) matrix(width int) (*vocab.Matrix, error) {
	if v == nil {
		return nil, nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if m, ok := v.mats[width]; ok {
		return m, v.errs[width]
	}
	s, ok := v.model.FindWidth(width)
	if !ok {
		v.mats[width] = nil
		return nil, nil
	}
	m, err := s.Load()
	v.mats[width], v.errs[width] = m, err
	return m, err
}

// meanNorm is a word's norm at this width: the model's, else the reference.
func (v *vocabSet) meanNorm(width int) (enc string, mean float64, source string, ok bool) {
	if m, err := v.matrix(width); err == nil && m != nil {
		return m.Encoder, m.MeanNorm(), fmt.Sprintf("mean norm of the %d tokens of %s in %s", m.Rows, m.Key, v.path), true
	}
	if r, ok := refNorms[width]; ok {
		return r.encoder, r.mean, r.source, true
	}
	return "", 0, "", false
}

// addVocab adds strength (always, when a norm is known) and the nearest
// tokens (k > 0, with --clip) to a readable report.
func addVocab(r *report, vs *vocabSet, k int) {
	if r.Container == "" || len(r.Tensors) == 0 {
		return
	}
	for _, t := range r.Tensors {
		if len(t.Shape) == 0 {
			continue
		}
		enc, mean, src, ok := vs.meanNorm(t.Shape[len(t.Shape)-1])
		if !ok || mean == 0 {
			continue
		}
		s := strengthReport{Key: t.Key, Encoder: enc, VocabMeanNorm: mean, Source: src}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, n := range t.Norms {
			x := n / mean
			s.Ratios = append(s.Ratios, x)
			if n > 0 && !math.IsNaN(x) && !math.IsInf(x, 0) {
				lo, hi = min(lo, x), max(hi, x)
			}
		}
		r.Strength = append(r.Strength, s)
		if hi >= strongRatio {
			about := fmt.Sprintf("%.0f×", lo)
			if math.Round(lo) != math.Round(hi) {
				about = fmt.Sprintf("%.0f–%.0f×", lo, hi)
			}
			prefix := ""
			if len(r.Tensors) > 1 {
				prefix = t.Key + ": "
			}
			basis := fmt.Sprintf("%s tokens average about %.2f, a reference figure; --clip MODEL measures yours", encoderName[enc], mean)
			if m, _ := vs.matrix(t.Shape[len(t.Shape)-1]); m != nil {
				basis = fmt.Sprintf("%s tokens average %.4f in %s", encoderName[enc], mean, vs.path)
			}
			r.Warnings = append(r.Warnings, fmt.Sprintf("%svectors are about %s a word's strength* (norms %.2f–%.2f)",
				prefix, about, lo*mean, hi*mean))
			// The basis is the same for every file: said once per run.
			r.hints = append(r.hints, "a word's strength: "+basis)
		}
	}
	if k <= 0 || vs == nil {
		return
	}
	e := r.e // read once, by inspectFile
	if e == nil || len(e.Vectors) == 0 {
		return
	}
	// The first tensor the model has a vocabulary for: clip_l for SDXL.
	for _, v := range e.Vectors {
		_, w := v.Tensor.Rows()
		m, err := vs.matrix(w)
		if err != nil {
			r.Warnings = append(r.Warnings, "--clip: "+err.Error())
			return
		}
		if m == nil {
			continue
		}
		vals, err := v.Tensor.Float32s()
		if err != nil {
			return
		}
		n, _ := v.Tensor.Rows()
		r.Nearest = make([][]nearestHit, n)
		for i := 0; i < n; i++ {
			r.Nearest[i] = []nearestHit{}
			for _, h := range m.Nearest(vals[i*w:(i+1)*w], k) {
				r.Nearest[i] = append(r.Nearest[i], nearestHit{ID: h.ID, Token: tokenText(h.ID), Cos: h.Cos})
			}
		}
		r.NearestKey = v.Key
		return
	}
	r.Warnings = append(r.Warnings, fmt.Sprintf("--nearest: %s has no vocabulary of this embedding's width", vs.path))
}

// writeNearest prints the nearest tokens under a file's table row.
func writeNearest(w io.Writer, r report) {
	for i, hits := range r.Nearest {
		fmt.Fprintf(w, "    %s[%d] nearest:", r.NearestKey, i)
		for _, h := range hits {
			fmt.Fprintf(w, " %q %.3f", h.Token, h.Cos)
		}
		fmt.Fprintln(w)
	}
}

// vocabNorms are the target norms of merge --norm vocab, by width: the
// model's mean token norms (each encoder it has) or, without a model, the
// CLIP-L reference figure.
func vocabNorms(clip string) (map[int]float64, string, error) {
	if clip == "" {
		r := refNorms[768]
		return map[int]float64{768: r.mean}, r.source, nil
	}
	vs, err := openVocab(clip)
	if err != nil {
		return nil, "", err
	}
	defer vs.Close()
	out := map[int]float64{}
	for _, s := range vs.model.Sources {
		m, err := vs.matrix(s.Width)
		if err != nil {
			return nil, "", err
		}
		out[s.Width] = m.MeanNorm()
	}
	return out, "mean token norms of " + filepath.Base(clip), nil
}
