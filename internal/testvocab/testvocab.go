// Package testvocab builds the real-shaped token-embedding matrices of
// testdata/gen/gen_clip_fixture.py (same deterministic recipe, see there)
// and writes checkpoint-shaped files holding them, for tests.
package testvocab

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"os"
	"sync"

	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

// Shapes of the fixture.
const (
	Rows   = 49408
	WidthL = 768
	WidthG = 1280
)

// Keys used by the checkpoint-shaped files.
const (
	KeySD1   = "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight"
	KeySDXLL = "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight"
	KeySDXLG = "conditioner.embedders.1.model.token_embedding.weight"
)

func splitmix64(x uint64) uint64 {
	z := x + 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// Value is element i of the stream seed: an integer in [-512, 512) over
// 2^14, exact in F16.
func Value(seed, i uint64) float32 {
	k := int64(splitmix64(seed<<40|i)>>54) - 512
	return float32(k) / 16384
}

// f16 returns n values of stream seed as F16 bytes. Each value is an
// integer k in [-512, 512) times 2^-14, so its F16 bits are built
// directly (and checked against tensor.F32ToF16 by the tests).
func f16(seed uint64, n int) []byte {
	var table [1024]uint16
	for k := range table {
		table[k] = tensor.F32ToF16(float32(k-512) / 16384)
	}
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(b[2*i:], table[splitmix64(seed<<40|uint64(i))>>54])
	}
	return b
}

var (
	onceL, onceG sync.Once
	tl, tg       *tensor.Tensor
)

// L is the CLIP-L matrix (seed 1) with the planted row 5000 = row 1234
// with dims 384.. zeroed. It is built once; callers must not modify it.
func L() *tensor.Tensor {
	onceL.Do(func() { tl = makeL() })
	return tl
}

// G is the CLIP-G matrix (seed 2), built once; callers must not modify it.
func G() *tensor.Tensor {
	onceG.Do(func() {
		tg = &tensor.Tensor{DType: tensor.F16, Shape: []int{Rows, WidthG}, Data: f16(2, Rows*WidthG)}
	})
	return tg
}

func makeL() *tensor.Tensor {
	b := f16(1, Rows*WidthL)
	row := func(i int) []byte { return b[2*i*WidthL : 2*(i+1)*WidthL] }
	copy(row(5000), row(1234))
	clear(row(5000)[2*384:])
	return &tensor.Tensor{DType: tensor.F16, Shape: []int{Rows, WidthL}, Data: b}
}

// dummy is a small tensor standing for the rest of a checkpoint.
func dummy() *tensor.Tensor {
	return &tensor.Tensor{DType: tensor.F32, Shape: []int{2, 2}, Data: make([]byte, 16)}
}

// WriteSD1 writes an SD1 single-file checkpoint (.safetensors).
func WriteSD1(path string) error {
	return writeST(path, []safetensors.Named{
		{Name: "model.diffusion_model.out.bias", Src: dummy()},
		{Name: KeySD1, Src: L()},
	})
}

// WriteSDXL writes an SDXL single-file checkpoint (.safetensors).
func WriteSDXL(path string) error {
	return writeST(path, []safetensors.Named{
		{Name: "model.diffusion_model.out.bias", Src: dummy()},
		{Name: KeySDXLL, Src: L()},
		{Name: KeySDXLG, Src: G()},
	})
}

func writeST(path string, ts []safetensors.Named) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := safetensors.Write(f, ts, nil); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteCkpt writes an SD1 .ckpt: a torch zip of {"state_dict": {...}}.
func WriteCkpt(path string) error {
	sd := torchpt.NewDict()
	sd.Set("model.diffusion_model.out.bias", dummy())
	sd.Set(KeySD1, L())
	root := torchpt.NewDict()
	root.Set("state_dict", sd)
	root.Set("global_step", 470000)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := torchpt.WriteZip(f, "archive", root); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteSparseBig writes a safetensors checkpoint of size bytes whose first
// tensor is a hole of zeros (a sparse file: no disk used) and whose last
// is the SD1 token-embedding matrix, as in a real 7 GB checkpoint.
func WriteSparseBig(path string, size int64) error {
	l := L()
	bigBytes := size - int64(len(l.Data))
	bigBytes -= bigBytes % 4
	hdr, err := json.Marshal(map[string]any{
		"model.diffusion_model.big.weight": map[string]any{"dtype": "F32", "shape": []int64{bigBytes / 4}, "data_offsets": []int64{0, bigBytes}},
		KeySD1:                             map[string]any{"dtype": "F16", "shape": l.Shape, "data_offsets": []int64{bigBytes, bigBytes + int64(len(l.Data))}},
	})
	if err != nil {
		return err
	}
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hdr)))
	if _, err := f.Write(append(n[:], hdr...)); err != nil {
		return err
	}
	base := int64(8 + len(hdr))
	if _, err := f.WriteAt(l.Data, base+bigBytes); err != nil {
		return fmt.Errorf("writing the matrix: %w", err)
	}
	return nil
}
