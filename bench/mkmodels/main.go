//go:build benchtools

// mkmodels writes big model files with real key names into a folder, for
// bench/identify.sh: an SD1 checkpoint (UNet with EMA copy, text encoder,
// VAE; F16) as safetensors and as a torch zip .ckpt, a rank-256 kohya
// SDXL LoRA as safetensors, and a legacy (pre-1.6) torch checkpoint. The
// safetensors and legacy data are sparse holes; the .ckpt is written.
//
//	go run -tags benchtools ./bench/mkmodels OUT_DIR
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/embtool/embtool/internal/legacyfile"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

type kv struct {
	k string
	s []int
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkmodels OUT_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	sd := sd1Keys()
	for _, e := range sd {
		if len(e.k) > 22 && e.k[:22] == "model.diffusion_model." {
			sd = append(sd, kv{"model_ema.diffusion_model" + e.k[22:], e.s})
		}
	}
	writeST(filepath.Join(dir, "sd15.safetensors"), sd)
	writeST(filepath.Join(dir, "sdxl_lora.safetensors"), loraKeys(256))
	writeCkpt(filepath.Join(dir, "sd15.ckpt"), sd)
	var legacy []kv
	for b := 0; b < 12; b++ {
		for l := 0; l < 40; l++ {
			p := fmt.Sprintf("model.diffusion_model.output_blocks.%d.1.transformer_blocks.%d.", b, l)
			legacy = append(legacy, kv{p + "attn2.to_k.weight", []int{1280, 768}}, kv{p + "ff.net.0.proj.weight", []int{2560, 1280}})
		}
	}
	legacy = append(legacy, kv{"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", []int{49408, 768}})
	writeLegacy(filepath.Join(dir, "legacy.ckpt"), legacy)
}

// sd1Keys: the SD1 checkpoint layout (LDM names), shapes as in v1-5.
func sd1Keys() []kv {
	var out []kv
	add := func(k string, s ...int) { out = append(out, kv{k, s}) }
	dm := "model.diffusion_model."
	ch := []int{320, 320, 320, 320, 640, 640, 640, 1280, 1280, 1280, 1280, 1280}
	add(dm+"input_blocks.0.0.weight", 320, 4, 3, 3)
	add(dm+"input_blocks.0.0.bias", 320)
	for i := 1; i < 12; i++ {
		c := ch[i]
		p := fmt.Sprintf("%sinput_blocks.%d.", dm, i)
		if i == 3 || i == 6 || i == 9 {
			add(p+"0.op.weight", c, c, 3, 3)
			add(p+"0.op.bias", c)
			continue
		}
		for _, n := range []string{"in_layers.0.weight", "in_layers.0.bias", "emb_layers.1.bias", "out_layers.0.weight", "out_layers.0.bias", "out_layers.3.bias"} {
			add(p+"0."+n, c)
		}
		add(p+"0.in_layers.2.weight", c, c, 3, 3)
		add(p+"0.emb_layers.1.weight", c, 1280)
		add(p+"0.out_layers.3.weight", c, c, 3, 3)
		if i < 9 {
			t := p + "1.transformer_blocks.0."
			add(p+"1.proj_in.weight", c, c, 1, 1)
			for _, n := range []string{"attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_out.0"} {
				add(t+n+".weight", c, c)
			}
			add(t+"attn2.to_k.weight", c, 768)
			add(t+"attn2.to_v.weight", c, 768)
			add(t+"ff.net.0.proj.weight", c*8, c)
			add(t+"ff.net.2.weight", c, c*4)
			add(p+"1.proj_out.weight", c, c, 1, 1)
		}
	}
	for i := 0; i < 12; i++ {
		c := ch[11-i]
		p := fmt.Sprintf("%soutput_blocks.%d.", dm, i)
		add(p+"0.in_layers.2.weight", c, c*2, 3, 3)
		add(p+"0.out_layers.3.weight", c, c, 3, 3)
		add(p+"0.skip_connection.weight", c, c*2, 1, 1)
		if i >= 3 {
			t := p + "1.transformer_blocks.0."
			add(t+"attn1.to_q.weight", c, c)
			add(t+"attn2.to_k.weight", c, 768)
			add(t+"ff.net.0.proj.weight", c*8, c)
			add(t+"ff.net.2.weight", c, c*4)
		}
	}
	add(dm+"middle_block.1.transformer_blocks.0.attn2.to_k.weight", 1280, 768)
	add(dm+"out.2.weight", 4, 320, 3, 3)
	add(dm+"time_embed.0.weight", 1280, 320)
	for l := 0; l < 12; l++ {
		p := fmt.Sprintf("cond_stage_model.transformer.text_model.encoder.layers.%d.", l)
		for _, n := range []string{"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.out_proj.weight"} {
			add(p+n, 768, 768)
		}
		add(p+"mlp.fc1.weight", 3072, 768)
		add(p+"mlp.fc2.weight", 768, 3072)
		add(p+"layer_norm1.weight", 768)
	}
	add("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", 49408, 768)
	add("cond_stage_model.transformer.text_model.embeddings.position_embedding.weight", 77, 768)
	for i := 0; i < 4; i++ {
		c := 128 << min(i, 2)
		for j := 0; j < 2; j++ {
			add(fmt.Sprintf("first_stage_model.encoder.down.%d.block.%d.conv1.weight", i, j), c, c, 3, 3)
			add(fmt.Sprintf("first_stage_model.decoder.up.%d.block.%d.conv1.weight", i, j), c, c, 3, 3)
		}
	}
	add("first_stage_model.quant_conv.weight", 8, 8, 1, 1)
	add("first_stage_model.post_quant_conv.weight", 4, 4, 1, 1)
	add("first_stage_model.decoder.conv_in.weight", 512, 4, 3, 3)
	return out
}

// loraKeys: a kohya SDXL LoRA of rank r.
func loraKeys(r int) []kv {
	var out []kv
	for b := 0; b < 300; b++ {
		for _, m := range []string{"attn1_to_q", "attn1_to_k", "attn1_to_v", "attn2_to_k", "ff_net_0_proj"} {
			in := 1280
			if m == "attn2_to_k" {
				in = 2048
			}
			p := fmt.Sprintf("lora_unet_output_blocks_%d_1_transformer_blocks_%d_%s.", b/10, b%10, m)
			out = append(out, kv{p + "lora_down.weight", []int{r, in}}, kv{p + "lora_up.weight", []int{1280, r}}, kv{p + "alpha", nil})
		}
	}
	for l := 0; l < 32; l++ {
		p := fmt.Sprintf("lora_te2_text_model_encoder_layers_%d_self_attn_q_proj.", l)
		out = append(out, kv{p + "lora_down.weight", []int{r, 1280}}, kv{p + "lora_up.weight", []int{1280, r}}, kv{p + "alpha", nil})
	}
	return out
}

func numel(s []int) int64 {
	n, _ := tensor.NumElements(s)
	return int64(n)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkmodels:", err)
		os.Exit(1)
	}
}

func report(path string, n int) {
	fi, err := os.Stat(path)
	check(err)
	fmt.Printf("%s: %d bytes, %d tensors\n", path, fi.Size(), n)
}

// writeST writes the header of F16 tensors and extends the file sparsely
// to the size the header declares.
func writeST(path string, kvs []kv) {
	type ent struct {
		DType   string  `json:"dtype"`
		Shape   []int   `json:"shape"`
		Offsets []int64 `json:"data_offsets"`
	}
	kvs = append([]kv(nil), kvs...)
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var off int64
	for _, e := range kvs {
		n := 2 * numel(e.s)
		hdr[e.k] = ent{"F16", append([]int{}, e.s...), []int64{off, off + n}}
		off += n
	}
	j, err := json.Marshal(hdr)
	check(err)
	for len(j)%8 != 0 {
		j = append(j, ' ')
	}
	f, err := os.Create(path)
	check(err)
	check(binary.Write(f, binary.LittleEndian, uint64(len(j))))
	_, err = f.Write(j)
	check(err)
	check(f.Truncate(8 + int64(len(j)) + off))
	check(f.Close())
	report(path, len(kvs))
}

type zeros []int

func (z zeros) Meta() (tensor.DType, []int) { return tensor.F16, z }
func (z zeros) Load() (*tensor.Tensor, error) {
	return tensor.New(tensor.F16, z, make([]byte, 2*numel(z)))
}

// writeCkpt writes {"state_dict": …, "global_step": …} with torchpt.
func writeCkpt(path string, kvs []kv) {
	st := torchpt.NewDict()
	for _, e := range kvs {
		st.Set(e.k, zeros(e.s))
	}
	root := torchpt.NewDict()
	root.Set("state_dict", st)
	root.Set("global_step", int64(840000))
	f, err := os.Create(path)
	check(err)
	w := bufio.NewWriterSize(f, 1<<20)
	check(torchpt.WriteZip(w, "archive", root))
	check(w.Flush())
	check(f.Close())
	report(path, len(kvs))
}

// writeLegacy writes the pre-1.6 format as torch.save(...,
// _use_new_zipfile_serialization=False) lays it out (internal/legacyfile),
// F32 storages as sparse holes.
func writeLegacy(path string, kvs []kv) {
	ts := make([]legacyfile.Tensor, len(kvs))
	for i, e := range kvs {
		ts[i] = legacyfile.Tensor{Key: e.k, Shape: e.s}
	}
	head, order := legacyfile.Head(ts)
	f, err := os.Create(path)
	check(err)
	_, err = f.Write(head)
	check(err)
	pos := int64(len(head))
	for _, i := range order {
		var cnt [8]byte
		n := ts[i].Numel()
		binary.LittleEndian.PutUint64(cnt[:], uint64(n))
		_, err := f.WriteAt(cnt[:], pos)
		check(err)
		pos += 8 + 4*n
	}
	check(f.Truncate(pos))
	check(f.Close())
	report(path, len(ts))
}
