package embedding

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/testcorpus"
	"github.com/embtool/embtool/pkg/identify"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
)

// TestIdentifyAgrees: for every fixture and real embedding, what identify
// tells from the headers (layout, model, vectors × width) is what Decode
// finds in the tensors, so the two cannot drift apart. (An embedding
// drawn in a PNG's pixels is the exception: no header shows it.)
func TestIdentifyAgrees(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(ehFixtures, "*"))
	if dir := corpusDirOrEmpty(t); dir != "" {
		more, _ := filepath.Glob(filepath.Join(dir, "*"))
		paths = append(paths, more...)
	}
	checked := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		id := identify.File(bytes.NewReader(b), int64(len(b)), filepath.Base(p))
		e, err := Decode(bytes.NewReader(b), int64(len(b)), Options{})
		if err != nil {
			if id.Kind == identify.KindEmbedding && id.Err == nil && id.Layout != "" && id.Vectors > 0 {
				t.Errorf("%s: identified as %s, but Decode fails: %v", p, id.Description(), err)
			}
			continue
		}
		if id.Kind == identify.KindImage && id.PixelsUnread {
			continue // a pixel-border embedding: no header tells it
		}
		if id.Kind != identify.KindEmbedding {
			t.Errorf("%s: Decode reads an embedding, identify says %s", p, id.Kind)
			continue
		}
		if id.Layout != string(e.Layout) || id.Model != string(e.Model) || id.Vectors != e.Count || id.Width != e.Width {
			t.Errorf("%s: identify %s %s %d×%d, Decode %s %s %d×%d", p, id.Layout, id.Model, id.Vectors, id.Width, e.Layout, e.Model, e.Count, e.Width)
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("only %d embeddings checked", checked)
	}
}

func corpusDirOrEmpty(t *testing.T) (dir string) {
	t.Run("corpus", func(t *testing.T) { dir = testcorpus.Dir(t) })
	return dir
}

type bigNamed struct {
	name  string
	shape []int
}

// TestReadFileNonEmbedding: a LoRA of several MiB dropped among the
// embeddings is refused from its header: ReadFile says what it is and
// where it goes, reads and hashes nothing more, and allocates a small
// fraction of the file.
func TestReadFileNonEmbedding(t *testing.T) {
	var named []safetensors.Named
	for i, e := range []bigNamed{
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", []int{32, 768}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight", []int{320, 32}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_ff_net_0_proj.lora_down.weight", []int{32, 16384}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_ff_net_0_proj.lora_up.weight", []int{16384, 32}},
	} {
		n := e.shape[0] * e.shape[1]
		tt, err := tensor.New(tensor.F32, e.shape, bytes.Repeat([]byte{byte(i + 1), 0, 0, 0}, n))
		if err != nil {
			t.Fatal(err)
		}
		named = append(named, safetensors.Named{Name: e.name, Src: tt})
	}
	var b bytes.Buffer
	if err := safetensors.Write(&b, named, nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lora.safetensors")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var (
		e   *Embedding
		sum string
		err error
	)
	got := testcorpus.Allocated(func() { e, sum, err = ReadFile(path, Options{}) })
	if e != nil || !errors.Is(err, ErrNotEmbedding) {
		t.Fatalf("ReadFile: %v, %v", e, err)
	}
	if want := "a LoRA (kohya, rank 32, SD1, 4 tensors): it goes in models/Lora, not embeddings"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if id := Identified(err); id == nil || id.Kind != identify.KindLoRA {
		t.Errorf("Identified: %+v", id)
	}
	if sum != "" {
		t.Errorf("hashed a %d-byte non-embedding", b.Len())
	}
	if got > 256<<10 {
		t.Errorf("allocated %d bytes for a %d-byte LoRA", got, b.Len())
	}
}

// TestReadFileLargePixelPNG: a PNG over 1 MiB whose embedding is only in
// its pixels is still found (identify cannot tell it from the headers).
func TestReadFileLargePixelPNG(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(ehFixtures, "png_pixels.png"))
	if err != nil {
		t.Fatal(err)
	}
	// A private ancillary chunk of 1.5 MiB after IHDR (8 + 25 bytes).
	data := make([]byte, 3<<19)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	chunk = append(chunk, "prVt"...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	big := append(append(append([]byte(nil), b[:33]...), chunk...), b[33:]...)
	path := filepath.Join(t.TempDir(), "big.png")
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	e, sum, err := ReadFile(path, Options{})
	if err != nil || e == nil {
		t.Fatalf("ReadFile: %v", err)
	}
	small, _, err := ReadFile(filepath.Join(ehFixtures, "png_pixels.png"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Count != small.Count || e.Width != small.Width || e.Layout != small.Layout || sum == "" {
		t.Errorf("big PNG: %s %d×%d (sum %q), small: %s %d×%d", e.Layout, e.Count, e.Width, sum, small.Layout, small.Count, small.Width)
	}
}
