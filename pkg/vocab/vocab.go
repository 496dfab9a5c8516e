package vocab

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"

	"github.com/embtool/embtool/pkg/embedding"
	"github.com/embtool/embtool/pkg/tensor"
)

// Encoder names.
const (
	CLIPL     = "clip_l"     // CLIP ViT-L/14, 768 wide (SD1, SDXL's first encoder)
	OpenCLIPH = "openclip_h" // OpenCLIP ViT-H/14, 1024 wide (SD2)
	CLIPG     = "clip_g"     // OpenCLIP ViT-bigG/14, 1280 wide (SDXL's second encoder)
)

// Limits on the matrix: CLIP's vocabulary is 49408 rows; a fine-tune may
// add tokens, but not millions.
const (
	MaxRows  = 1 << 20
	MaxWidth = 8192
	MaxBytes = 1 << 30
)

// Keys are the token-embedding keys of the checkpoint layouts embtool
// knows, with the encoder each one is. The diffusers key serves every
// encoder; its width tells which.
var Keys = []struct{ Key, Encoder string }{
	{"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", CLIPL},        // SD1 single file
	{"cond_stage_model.model.token_embedding.weight", OpenCLIPH},                                // SD2 single file
	{"conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", CLIPL}, // SDXL single file
	{"conditioner.embedders.1.model.token_embedding.weight", CLIPG},                             // SDXL single file
	{"text_model.embeddings.token_embedding.weight", ""},                                        // diffusers text_encoder(_2)/model.safetensors
}

// encoderForWidth names a diffusers encoder by its width.
func encoderForWidth(w int) string {
	switch w {
	case 768:
		return CLIPL
	case 1024:
		return OpenCLIPH
	case 1280:
		return CLIPG
	}
	return ""
}

// Source is one token-embedding matrix found in a model, not yet loaded.
type Source struct {
	File, Key, Encoder string
	Rows, Width        int
	src                tensor.Source
}

// Model is the token-embedding matrices found at a path.
type Model struct {
	Path    string
	Sources []Source
	dicts   []*embedding.TensorDict
}

// Close releases the files.
func (m *Model) Close() error {
	var err error
	for _, d := range m.dicts {
		err = errors.Join(err, d.Close())
	}
	return err
}

// diffusersFiles are the files of a diffusers folder that may hold an
// encoder, relative to the folder given.
var diffusersFiles = []string{
	"model.safetensors", "model.fp16.safetensors",
	"text_encoder/model.safetensors", "text_encoder/model.fp16.safetensors",
	"text_encoder_2/model.safetensors", "text_encoder_2/model.fp16.safetensors",
}

// Open finds the token-embedding matrices of a checkpoint (.safetensors or
// torch .ckpt/.pt/.bin), or of a diffusers folder (the pipeline, or one
// text_encoder folder).
func Open(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	m := &Model{Path: path}
	files := []string{path}
	if st.IsDir() {
		files = nil
		for _, f := range diffusersFiles {
			p := filepath.Join(path, f)
			if _, err := os.Stat(p); err == nil {
				files = append(files, p)
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: a folder, but no diffusers text encoder in it (looked for %s)", path, diffusersFiles[0])
		}
	}
	for _, f := range files {
		if err := m.add(f); err != nil {
			m.Close()
			return nil, err
		}
	}
	if len(m.Sources) == 0 {
		m.Close()
		return nil, fmt.Errorf("%s: no token-embedding matrix (looked for %s and %d other keys)", path, Keys[0].Key, len(Keys)-1)
	}
	return m, nil
}

func (m *Model) add(file string) error {
	d, err := embedding.OpenTensorDict(file, embedding.Options{})
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	m.dicts = append(m.dicts, d)
	index := make(map[string]int, len(d.Keys))
	for i, k := range d.Keys {
		index[k] = i
	}
	for _, k := range Keys {
		i, ok := index[k.Key]
		if !ok {
			continue
		}
		dt, shape := d.Sources[i].Meta()
		if len(shape) != 2 || !dt.IsFloat() || shape[0] < 1 || shape[0] > MaxRows || shape[1] < 1 || shape[1] > MaxWidth {
			return fmt.Errorf("%s: %s is %s%v: not a token-embedding matrix", file, k.Key, dt, shape)
		}
		if size, err := tensor.ByteSize(dt, shape); err != nil || size > MaxBytes {
			return fmt.Errorf("%s: %s is %s%v: larger than %d bytes", file, k.Key, dt, shape, MaxBytes)
		}
		enc := k.Encoder
		if enc == "" {
			enc = encoderForWidth(shape[1])
		}
		m.Sources = append(m.Sources, Source{File: file, Key: k.Key, Encoder: enc, Rows: shape[0], Width: shape[1], src: d.Sources[i]})
	}
	return nil
}

// find returns the matrix of an encoder, if the model has it.
func (m *Model) find(encoder string) (*Source, bool) {
	for i := range m.Sources {
		if m.Sources[i].Encoder == encoder {
			return &m.Sources[i], true
		}
	}
	return nil, false
}

// FindWidth returns the matrix of the given width (768 finds CLIP-L).
func (m *Model) FindWidth(width int) (*Source, bool) {
	for i := range m.Sources {
		if m.Sources[i].Width == width {
			return &m.Sources[i], true
		}
	}
	return nil, false
}

// Matrix is a loaded token-embedding matrix as float32 rows, with each
// row's L2 norm (float64).
type Matrix struct {
	Key, Encoder string
	Rows, Width  int
	Vals         []float32
	Norms        []float64
}

// Load reads the matrix's bytes (only this tensor's). Sources that can
// stream (safetensors entries, stored torch records) are widened to
// float32 as the bytes arrive, without a buffer of the stored tensor.
func (s *Source) Load() (*Matrix, error) {
	dt, _ := s.src.Meta()
	if st, ok := s.src.(tensor.Streamer); ok && (dt == tensor.F16 || dt == tensor.F32 || dt == tensor.BF16) {
		w := &widener{dt: dt, out: make([]float32, s.Rows*s.Width)}
		n, err := st.StreamTo(w)
		if err == nil && (w.n != len(w.out) || len(w.carry) != 0) {
			err = fmt.Errorf("%d bytes stored for %d %s values", n, len(w.out), dt)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", s.File, s.Key, err)
		}
		return FromFloat32s(s.Key, s.Encoder, s.Rows, s.Width, w.out)
	}
	t, err := s.src.Load()
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.File, s.Key, err)
	}
	vals, err := float32s(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.File, s.Key, err)
	}
	return FromFloat32s(s.Key, s.Encoder, s.Rows, s.Width, vals)
}

// widener is an io.Writer that widens little-endian F16, BF16 or F32
// bytes into out, carrying a split element over to the next write.
type widener struct {
	dt    tensor.DType
	out   []float32
	n     int
	carry []byte
}

func (w *widener) Write(p []byte) (int, error) {
	total := len(p)
	es := w.dt.Size()
	if len(w.carry) > 0 {
		take := min(es-len(w.carry), len(p))
		w.carry = append(w.carry, p[:take]...)
		p = p[take:]
		if len(w.carry) < es {
			return total, nil
		}
		if err := w.widen(w.carry); err != nil {
			return 0, err
		}
		w.carry = w.carry[:0]
	}
	k := len(p) / es * es
	if err := w.widen(p[:k]); err != nil {
		return 0, err
	}
	w.carry = append(w.carry, p[k:]...)
	return total, nil
}

func (w *widener) widen(b []byte) error {
	c := len(b) / w.dt.Size()
	if c > len(w.out)-w.n {
		return fmt.Errorf("more than the %d values the shape holds", len(w.out))
	}
	out := w.out[w.n : w.n+c]
	switch w.dt {
	case tensor.F16:
		widenF16(out, b)
	case tensor.BF16:
		for i := range out {
			out[i] = tensor.BF16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case tensor.F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	}
	w.n += c
	return nil
}

var (
	f16Once  sync.Once
	f16Table []float32
)

func widenF16(out []float32, data []byte) {
	f16Once.Do(func() {
		f16Table = make([]float32, 1<<16)
		for i := range f16Table {
			f16Table[i] = tensor.F16ToF32(uint16(i))
		}
	})
	parallel(len(out), func(lo, hi int) {
		d, tab := data[2*lo:2*hi], f16Table
		o := out[lo:hi]
		for i := range o {
			o[i] = tab[uint16(d[2*i])|uint16(d[2*i+1])<<8]
		}
	})
}

// float32s widens t; F16 through a 65536-entry table (exact, and much
// faster than converting 38 million values one by one).
func float32s(t *tensor.Tensor) ([]float32, error) {
	if t.DType != tensor.F16 || len(t.Data)%2 != 0 {
		return t.Float32s()
	}
	out := make([]float32, len(t.Data)/2)
	widenF16(out, t.Data)
	return out, nil
}

// FromFloat32s wraps rows×width values as a Matrix.
func FromFloat32s(key, encoder string, rows, width int, vals []float32) (*Matrix, error) {
	if rows < 1 || width < 1 || len(vals) != rows*width {
		return nil, fmt.Errorf("%s: %d values for %d×%d", key, len(vals), rows, width)
	}
	m := &Matrix{Key: key, Encoder: encoder, Rows: rows, Width: width, Vals: vals, Norms: make([]float64, rows)}
	parallel(rows, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			m.Norms[i] = tensor.Norm(m.Row(i))
		}
	})
	return m, nil
}

// Row returns token id's vector.
func (m *Matrix) Row(id int) []float32 { return m.Vals[id*m.Width : (id+1)*m.Width] }

// MeanNorm is the mean L2 norm over every row of the vocabulary (special
// tokens included): how strong an ordinary word is.
func (m *Matrix) MeanNorm() float64 {
	var s float64
	for _, n := range m.Norms {
		s += n
	}
	return s / float64(len(m.Norms))
}

// Hit is one vocabulary token and its cosine with a vector.
type Hit struct {
	ID  int     `json:"id"`
	Cos float64 `json:"cos"`
}

// Cosines returns cos(v, row) for every row, accumulated in float64; 0
// where either vector is zero.
func (m *Matrix) Cosines(v []float32) []float64 {
	out := make([]float64, m.Rows)
	if len(v) != m.Width {
		return out
	}
	nv := tensor.Norm(v)
	if nv == 0 {
		return out
	}
	parallel(m.Rows, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if m.Norms[i] != 0 {
				out[i] = tensor.Dot(v, m.Row(i)) / (nv * m.Norms[i])
			}
		}
	})
	return out
}

// parallel runs f over [0, n) in one chunk per CPU.
func parallel(n int, f func(lo, hi int)) {
	workers := max(1, runtime.GOMAXPROCS(0))
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// Nearest returns the k rows of highest cosine with v, highest first;
// ties go to the lower id. NaN cosines are never chosen.
func (m *Matrix) Nearest(v []float32, k int) []Hit {
	return TopK(m.Cosines(v), k)
}

// TopK picks the k largest of cos, highest first, ties to the lower index.
func TopK(cos []float64, k int) []Hit {
	k = min(k, len(cos))
	if k <= 0 {
		return nil
	}
	top := make([]Hit, 0, k+1)
	for i, c := range cos {
		if math.IsNaN(c) || (len(top) == k && c <= top[k-1].Cos) {
			continue
		}
		j := sort.Search(len(top), func(j int) bool { return top[j].Cos < c })
		top = append(top, Hit{})
		copy(top[j+1:], top[j:])
		top[j] = Hit{ID: i, Cos: c}
		if len(top) > k {
			top = top[:k]
		}
	}
	return top
}
