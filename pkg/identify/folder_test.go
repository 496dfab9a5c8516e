package identify

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/embtool/embtool/internal/legacyfile"
	"github.com/embtool/embtool/pkg/safetensors"
	"github.com/embtool/embtool/pkg/tensor"
	"github.com/embtool/embtool/pkg/torchpt"
)

// A folder as users leave it: embeddings beside LoRAs, checkpoints, a VAE
// and the debris of failed downloads. Model files use the real key names
// (ComfyUI model_detection.py, kohya-ss/sd-scripts, LyCORIS, A1111) with
// small tensors; every tensor is at least a few KiB, so that reading its
// data would show in the byte counts.

// want is what File must say of one file of the folder.
type want struct {
	kind     Kind
	format   string
	base     string
	rank     int
	layout   string // embeddings
	model    string
	vectors  int
	width    int
	dataFrom func(b []byte) [][2]int64 // the byte ranges of tensor data
}

type kv struct {
	key   string
	shape []int
}

// zeros is a float32 tensor of zeros, loaded on demand.
type zeros []int

func (z zeros) Meta() (tensor.DType, []int) { return tensor.F32, z }
func (z zeros) Load() (*tensor.Tensor, error) {
	n, err := tensor.NumElements(z)
	if err != nil {
		return nil, err
	}
	return tensor.New(tensor.F32, z, make([]byte, 4*n))
}

func writeST(t *testing.T, path string, kvs []kv, md map[string]string) {
	t.Helper()
	var named []safetensors.Named
	for _, e := range kvs {
		named = append(named, safetensors.Named{Name: e.key, Src: zeros(e.shape)})
	}
	var b bytes.Buffer
	if err := safetensors.Write(&b, named, md); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stateDict is a torch dict of zero tensors under kvs' keys.
func stateDict(kvs []kv) *torchpt.Dict {
	d := torchpt.NewDict()
	for _, e := range kvs {
		d.Set(e.key, zeros(e.shape))
	}
	return d
}

func writePT(t *testing.T, path string, root *torchpt.Dict) {
	t.Helper()
	var b bytes.Buffer
	if err := torchpt.WriteZip(&b, "archive", root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// stData: a safetensors file's data section.
func stData(b []byte) [][2]int64 {
	n := int64(binary.LittleEndian.Uint64(b))
	return [][2]int64{{8 + n, int64(len(b))}}
}

// zipData: the data of a torch zip's storage records.
func zipData(b []byte) [][2]int64 {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		panic(err)
	}
	var out [][2]int64
	for _, e := range zr.File {
		if filepath.Base(filepath.Dir(e.Name)) != "data" {
			continue
		}
		off, err := e.DataOffset()
		if err != nil {
			panic(err)
		}
		out = append(out, [2]int64{off, off + int64(e.CompressedSize64)})
	}
	return out
}

// writeLegacy writes a legacy torch file of zero-filled F32 tensors
// (internal/legacyfile) and returns the byte ranges of their data.
func writeLegacy(t *testing.T, path string, ts []legacyfile.Tensor) [][2]int64 {
	t.Helper()
	head, order := legacyfile.Head(ts)
	p := bytes.NewBuffer(head)
	var ranges [][2]int64
	for _, i := range order {
		binary.Write(p, binary.LittleEndian, ts[i].Numel())
		start := int64(p.Len())
		p.Write(make([]byte, 4*ts[i].Numel()))
		ranges = append(ranges, [2]int64{start, int64(p.Len())})
	}
	if err := os.WriteFile(path, p.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return ranges
}

// Real key names, small shapes.
var (
	kohyaSD1 = []kv{
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", []int{32, 768}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight", []int{320, 32}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha", []int{}},
		{"lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", []int{32, 768}},
		{"lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", []int{768, 32}},
		{"lora_te_text_model_encoder_layers_0_self_attn_q_proj.alpha", []int{}},
	}
	kohyaSDXL = []kv{
		{"lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight", []int{16, 640}},
		{"lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight", []int{640, 16}},
		{"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", []int{16, 768}},
		{"lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", []int{16, 1280}},
	}
	diffusersLoRA = []kv{
		{"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight", []int{8, 2048}},
		{"unet.down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.lora_B.weight", []int{640, 8}},
	}
	fluxLoRA = []kv{
		{"lora_unet_double_blocks_0_img_attn_proj.lora_down.weight", []int{16, 3072}},
		{"lora_unet_double_blocks_0_img_attn_proj.lora_up.weight", []int{3072, 16}},
		{"lora_unet_single_blocks_0_linear1.lora_down.weight", []int{16, 3072}},
	}
	loha = []kv{
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w1_a", []int{320, 8}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w1_b", []int{8, 768}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w2_a", []int{320, 8}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.hada_w2_b", []int{8, 768}},
		{"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.alpha", []int{}},
	}
	lokr = []kv{
		{"lora_unet_input_blocks_4_1_proj_in.lokr_w1", []int{8, 8}},
		{"lora_unet_input_blocks_4_1_proj_in.lokr_w2", []int{80, 80}},
	}
	sd1Checkpoint = []kv{
		{"model.diffusion_model.input_blocks.0.0.weight", []int{320, 4, 3, 3}},
		{"model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", []int{320, 768}},
		{"model.diffusion_model.out.2.weight", []int{4, 320, 3, 3}},
		{"first_stage_model.decoder.conv_in.weight", []int{512, 4, 3, 3}},
		{"first_stage_model.quant_conv.weight", []int{8, 8, 1, 1}},
		{"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight", []int{16, 768}},
		{"cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight", []int{768, 768}},
	}
	sdxlCheckpoint = []kv{
		{"model.diffusion_model.input_blocks.0.0.weight", []int{320, 4, 3, 3}},
		{"model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", []int{640, 2048}},
		{"model.diffusion_model.label_emb.0.0.weight", []int{1280, 2816}},
		{"conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight", []int{16, 768}},
		{"conditioner.embedders.1.model.token_embedding.weight", []int{16, 1280}},
		{"conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight", []int{3840, 128}},
		{"first_stage_model.encoder.conv_in.weight", []int{128, 3, 3, 3}},
	}
	sd2Checkpoint = []kv{
		{"model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", []int{320, 1024}},
		{"cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight", []int{3072, 256}},
		{"cond_stage_model.model.token_embedding.weight", []int{16, 1024}},
	}
	sd3Checkpoint = []kv{
		{"model.diffusion_model.joint_blocks.0.context_block.attn.qkv.weight", []int{4608, 64}},
		{"model.diffusion_model.x_embedder.proj.weight", []int{1536, 16, 2, 2}},
		{"text_encoders.clip_l.transformer.text_model.embeddings.token_embedding.weight", []int{16, 768}},
	}
	fluxUNet = []kv{
		{"double_blocks.0.img_attn.norm.key_norm.scale", []int{128}},
		{"double_blocks.0.img_attn.qkv.weight", []int{9216, 64}},
		{"single_blocks.0.linear1.weight", []int{21504, 16}},
		{"img_in.weight", []int{3072, 64}},
	}
	vaeKeys = []kv{
		{"encoder.conv_in.weight", []int{128, 3, 3, 3}},
		{"encoder.down.0.block.0.conv1.weight", []int{128, 128, 3, 3}},
		{"decoder.conv_in.weight", []int{512, 4, 3, 3}},
		{"decoder.up.0.block.0.conv1.weight", []int{128, 128, 3, 3}},
		{"quant_conv.weight", []int{8, 8, 1, 1}},
		{"post_quant_conv.weight", []int{4, 4, 1, 1}},
	}
	clipL = []kv{
		{"text_model.embeddings.token_embedding.weight", []int{16, 768}},
		{"text_model.encoder.layers.0.self_attn.q_proj.weight", []int{768, 768}},
	}
	controlNetKeys = []kv{
		{"control_model.input_hint_block.0.weight", []int{16, 3, 3, 3}},
		{"control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", []int{320, 768}},
		{"control_model.zero_convs.0.0.weight", []int{320, 320, 1, 1}},
	}
	esrganOld = []kv{
		{"model.0.weight", []int{64, 3, 3, 3}},
		{"model.1.sub.0.RDB1.conv1.0.weight", []int{32, 64, 3, 3}},
		{"model.3.weight", []int{64, 64, 3, 3}},
	}
	rrdbNet = []kv{
		{"conv_first.weight", []int{64, 3, 3, 3}},
		{"body.0.rdb1.conv1.weight", []int{32, 64, 3, 3}},
		{"conv_body.weight", []int{64, 64, 3, 3}},
	}
)

// buildFolder writes the folder and returns what each file must be.
func buildFolder(t *testing.T) (string, map[string]want) {
	t.Helper()
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	w := map[string]want{}

	for name, wt := range map[string]want{
		"a1111_f32.pt":                {kind: KindEmbedding, layout: "a1111", model: "sd1", vectors: 2, width: 768},
		"legacy_a1111_f32.pt":         {kind: KindEmbedding, layout: "a1111", model: "sd1", vectors: 2, width: 768},
		"kohya_f32.safetensors":       {kind: KindEmbedding, layout: "kohya", model: "sd1", vectors: 8, width: 768},
		"sdxl.safetensors":            {kind: KindEmbedding, layout: "sdxl", model: "sdxl", vectors: 4, width: 2048},
		"learned_embeds.bin":          {kind: KindEmbedding, layout: "diffusers", model: "sd1", vectors: 2, width: 768},
		"legacy_ti_paramdict.pt":      {kind: KindEmbedding, layout: "textual-inversion", model: "sd1", vectors: 2, width: 768},
		"png_text.png":                {kind: KindEmbedding, layout: "a1111", model: "sd1", vectors: 2, width: 768},
		"png_plain.png":               {kind: KindImage},
		"xti.safetensors":             {kind: KindEmbedding, layout: "other", model: "unknown"},
		"t5xxl.safetensors":           {kind: KindEmbedding, layout: "other", model: "unknown", vectors: 4, width: 4096},
		"sdxl_b_f16.safetensors":      {kind: KindEmbedding, layout: "sdxl", model: "sdxl", vectors: 4, width: 2048},
		"ti_paramdict_multi.pt":       {kind: KindEmbedding, layout: "other", model: "unknown"},
		"a1111_sd2.pt":                {kind: KindEmbedding, layout: "a1111", model: "sd2", vectors: 3, width: 1024},
		"kohya_f16.safetensors":       {kind: KindEmbedding, layout: "kohya", model: "sd1", vectors: 8, width: 768},
		"diffusers_1x768.safetensors": {kind: KindEmbedding, layout: "diffusers", model: "sd1", vectors: 1, width: 768},
	} {
		b, err := os.ReadFile(filepath.Join("../../testdata/fixtures", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p(name), b, 0o644); err != nil {
			t.Fatal(err)
		}
		w[name] = wt
	}
	b, err := os.ReadFile("../../testdata/checkpoint/mini_legacy.ckpt")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p("mini_legacy.ckpt"), b, 0o644)
	w["mini_legacy.ckpt"] = want{kind: KindCheckpoint}

	st := func(name string, kvs []kv, md map[string]string, wt want) {
		writeST(t, p(name), kvs, md)
		wt.dataFrom = stData
		w[name] = wt
	}
	pt := func(name string, root *torchpt.Dict, wt want) {
		writePT(t, p(name), root)
		wt.dataFrom = zipData
		w[name] = wt
	}
	st("kohya_lora.safetensors", kohyaSD1, map[string]string{"ss_network_module": "networks.lora"}, want{kind: KindLoRA, format: "kohya", base: BaseSD1, rank: 32})
	st("sdxl_lora.safetensors", kohyaSDXL, nil, want{kind: KindLoRA, format: "kohya", base: BaseSDXL, rank: 16})
	st("diffusers_lora.safetensors", diffusersLoRA, nil, want{kind: KindLoRA, format: "diffusers", base: BaseSDXL, rank: 8})
	st("flux_lora.safetensors", fluxLoRA, nil, want{kind: KindLoRA, format: "kohya", base: BaseFlux, rank: 16})
	st("loha.safetensors", loha, nil, want{kind: KindLyCORIS, format: "LoHa", base: BaseSD1, rank: 8})
	st("lokr.safetensors", lokr, map[string]string{"ss_base_model_version": "sdxl_base_v1-0"}, want{kind: KindLyCORIS, format: "LoKr", base: BaseSDXL})
	st("sdxl_checkpoint.safetensors", sdxlCheckpoint, nil, want{kind: KindCheckpoint, base: BaseSDXL})
	st("sd3.safetensors", sd3Checkpoint, nil, want{kind: KindCheckpoint, base: BaseSD3})
	st("flux1-dev.safetensors", fluxUNet, nil, want{kind: KindCheckpoint, base: BaseFlux})
	st("vae.safetensors", vaeKeys, nil, want{kind: KindVAE, format: "LDM"})
	st("clip_l.safetensors", clipL, nil, want{kind: KindTextEncoder, format: "CLIP-L"})
	st("4x_esrgan.safetensors", esrganOld, nil, want{kind: KindUpscaler, format: "ESRGAN"})

	ckpt := torchpt.NewDict()
	ckpt.Set("state_dict", stateDict(sd1Checkpoint))
	ckpt.Set("global_step", int64(470000))
	pt("sd15.ckpt", ckpt, want{kind: KindCheckpoint, base: BaseSD1})
	pt("sd2.ckpt", stateDict(sd2Checkpoint), want{kind: KindCheckpoint, base: BaseSD2})
	pt("vae.pt", stateDict(vaeKeys), want{kind: KindVAE, format: "LDM"})
	pt("control_sd15_canny.pth", stateDict(controlNetKeys), want{kind: KindControlNet, base: BaseSD1})
	pt("kohya_lora.pt", stateDict(kohyaSD1), want{kind: KindLoRA, format: "kohya", base: BaseSD1, rank: 32})
	realesrgan := torchpt.NewDict()
	realesrgan.Set("params_ema", stateDict(rrdbNet))
	pt("RealESRGAN_x4plus.pth", realesrgan, want{kind: KindUpscaler, format: "ESRGAN"})

	hn := torchpt.NewDict()
	for _, width := range []int64{320, 640, 768, 1280} {
		var layers torchpt.Tuple // A1111: (v[0].state_dict(), v[1].state_dict())
		for i := 0; i < 2; i++ {
			layers = append(layers, stateDict([]kv{
				{"linear.0.weight", []int{64, int(width)}},
				{"linear.0.bias", []int{64}},
			}))
		}
		hn.Set(width, layers)
	}
	hn.Set("step", int64(1000))
	hn.Set("name", "anime")
	hn.Set("layer_structure", torchpt.List{1.0, 2.0, 1.0})
	hn.Set("activation_func", "swish")
	pt("anime.pt", hn, want{kind: KindHypernetwork, format: "A1111"})

	legacyRanges := writeLegacy(t, p("legacy_lora.pt"), []legacyfile.Tensor{
		{Key: "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight", Shape: []int{64, 768}},
		{Key: "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight", Shape: []int{320, 64}},
		{Key: "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", Shape: []int{64, 768}},
		{Key: "lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", Shape: []int{768, 64}},
	})
	w["legacy_lora.pt"] = want{kind: KindLoRA, format: "kohya", base: BaseSD1, rank: 64,
		dataFrom: func([]byte) [][2]int64 { return legacyRanges }}

	// A TorchScript archive: torch.jit.save's records.
	var ts bytes.Buffer
	zw := zip.NewWriter(&ts)
	for name, body := range map[string]string{
		"model/data.pkl":                 "\x80\x02}q\x00.",
		"model/constants.pkl":            "\x80\x02).",
		"model/code/__torch__/module.py": "class Module(Module):\n  def forward(self, x):\n    return x\n",
		"model/version":                  "3\n",
	} {
		f, _ := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		f.Write([]byte(body))
	}
	zw.Close()
	os.WriteFile(p("traced.pt"), ts.Bytes(), 0o644)
	w["traced.pt"] = want{kind: KindTorchScript}

	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewRGBA(image.Rect(0, 0, 64, 64)), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p("preview.jpg"), jb.Bytes(), 0o644)
	w["preview.jpg"] = want{kind: KindImage}

	for name, text := range map[string]string{
		"model.safetensors": "\ufeff\n  <!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>\n",
		"page.pt":           "<HTML><body>404</body></HTML>",
		"lfs.safetensors":   "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2148c5e0e8d1d5a1b7f3f0d0d4ec1a5b0e8c3f39b2b8f1d5c7a3e9b0f6a1\nsize 2132856622\n",
		"notes.txt":         "trigger word: ohwx\n",
		"empty.pt":          "",
		"random.bin":        "\x00\x01\x02\x03\xfe\xfd\x00\x10garbage",
	} {
		os.WriteFile(p(name), []byte(text), 0o644)
	}
	w["model.safetensors"] = want{kind: KindHTML}
	w["page.pt"] = want{kind: KindHTML}
	w["lfs.safetensors"] = want{kind: KindGitLFS}
	w["notes.txt"] = want{kind: KindText}
	w["empty.pt"] = want{kind: KindEmpty}
	w["random.bin"] = want{kind: KindUnknown}
	return dir, w
}
