package identify

import (
	"fmt"
	"strings"
)

// keySet is a state dict's flattened keys with their shapes.
type keySet struct {
	keys  []string
	shape map[string][]int
}

func newKeySet(es []entry) *keySet {
	ks := &keySet{shape: make(map[string][]int, len(es))}
	for _, e := range es {
		ks.keys = append(ks.keys, e.key)
		ks.shape[e.key] = e.shape
	}
	return ks
}

func (ks *keySet) has(key string) bool {
	_, ok := ks.shape[key]
	return ok
}

// prefix reports whether any key starts with one of ps.
func (ks *keySet) prefix(ps ...string) bool {
	for _, k := range ks.keys {
		for _, p := range ps {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
	}
	return false
}

// contains reports whether any key contains one of ss.
func (ks *keySet) contains(ss ...string) bool {
	for _, k := range ks.keys {
		for _, s := range ss {
			if strings.Contains(k, s) {
				return true
			}
		}
	}
	return false
}

// all reports whether every key starts with p.
func (ks *keySet) all(p string) bool {
	for _, k := range ks.keys {
		if !strings.HasPrefix(k, p) {
			return false
		}
	}
	return len(ks.keys) > 0
}

// dim is shape[i] of key, or 0.
func (ks *keySet) dim(key string, i int) int {
	s := ks.shape[key]
	if i < len(s) {
		return s[i]
	}
	return 0
}

// classify names the kind of a decoded container from its keys and
// shapes; md is the safetensors __metadata__ (nil for other containers).
func classify(res *Result, root *node, md map[string]string) {
	all := root.flatten()
	res.Tensors = len(all)
	for _, e := range all {
		if n, ok := byteSize(e.meta); ok {
			res.TensorBytes += n
		}
	}
	if hypernetwork(res, root) {
		return
	}
	sd, wrapper := unwrap(root)
	ks := newKeySet(all)
	if sd != root {
		ks = newKeySet(sd.flatten())
	}
	if classifyModel(res, ks, md, wrapper) {
		return
	}
	if classifyEmbedding(res, root) {
		return
	}
	if looseTerms(all) {
		refuse(res, all)
		return
	}
	res.Kind = KindUnknown
	if len(all) == 0 {
		res.Notes = append(res.Notes, "no tensors; keys "+listSome(root.Keys, 8))
	} else {
		res.Notes = append(res.Notes, "no layout embtool knows; keys "+listSome(ks.keys, 4))
	}
}

// unwrap finds the state dict inside a training checkpoint's dict:
// {"state_dict": …}, BasicSR's {"params_ema": …}, and the like.
func unwrap(root *node) (*node, string) {
	if len(root.direct()) > 0 {
		return root, ""
	}
	for _, k := range []string{"state_dict", "params_ema", "params", "model_state_dict", "module", "model", "net", "generator"} {
		if v, ok := root.Get(k); ok {
			if n, ok := v.(*node); ok && len(n.flatten()) > 0 {
				return n, k
			}
		}
	}
	return root, ""
}

// hypernetwork: A1111's hypernetwork file is a dict keyed by the context
// widths it applies to (320, 640, 768, 1024, 1280), each a list of two
// layer state dicts, beside layer_structure, activation_func and more.
func hypernetwork(res *Result, root *node) bool {
	widths := 0
	for _, k := range root.intKeys {
		switch k {
		case 320, 640, 768, 1024, 1280:
			widths++
		}
	}
	_, ls := root.Get("layer_structure")
	_, af := root.Get("activation_func")
	if widths == 0 && !(ls && af) {
		return false
	}
	res.Kind, res.Format = KindHypernetwork, "A1111"
	if v, ok := root.Get("activation_func"); ok {
		if s, ok := v.(string); ok && s != "" {
			res.Notes = append(res.Notes, "activation "+s)
		}
	}
	if v, ok := root.Get("layer_structure"); ok {
		if n, ok := v.(*node); ok {
			var parts []string
			for _, x := range n.Values {
				switch x := x.(type) {
				case float64, int64:
					parts = append(parts, fmt.Sprint(x))
				}
			}
			if len(parts) > 0 {
				res.Notes = append(res.Notes, "layers "+strings.Join(parts, "-"))
			}
		}
	}
	return true
}

// classifyModel tries the model kinds, most specific first.
func classifyModel(res *Result, ks *keySet, md map[string]string, wrapper string) bool {
	switch {
	case lycoris(res, ks, md):
	case lora(res, ks, md):
	case controlNet(res, ks):
	case checkpoint(res, ks):
	case vae(res, ks):
	case textEncoder(res, ks):
	case upscaler(res, ks, wrapper):
	default:
		return false
	}
	return true
}

func lycoris(res *Result, ks *keySet, md map[string]string) bool {
	switch {
	case ks.contains(".hada_w1_a", ".hada_w2_a"):
		res.Format = "LoHa"
		res.RankMin, res.RankMax = ranks(ks, ".hada_w1_b", 0)
	case ks.contains(".lokr_w1", ".lokr_w2"):
		res.Format = "LoKr"
	case ks.contains(".oft_blocks", ".oft_diag"):
		res.Format = "OFT"
	default:
		return false
	}
	res.Kind = KindLyCORIS
	res.Base = loraBase(ks, md)
	return true
}

// loraDown are the key parts of a LoRA's down (A) matrix: kohya, PEFT
// and diffusers, old diffusers attention processors.
var loraDown = []string{".lora_down.", ".lora_A.", "_lora.down.", ".lora.down.", ".lora_linear_layer.down."}

func lora(res *Result, ks *keySet, md map[string]string) bool {
	if !ks.contains(loraDown...) && !ks.contains(".lora_up.", ".lora_B.") {
		return false
	}
	res.Kind = KindLoRA
	switch {
	case ks.prefix("lora_unet_", "lora_te_", "lora_te1_", "lora_te2_", "lora_te3_", "lora_transformer_"):
		res.Format = "kohya"
	case ks.prefix("base_model.model."):
		res.Format = "peft"
	default:
		res.Format = "diffusers"
	}
	for _, d := range loraDown {
		if lo, hi := ranks(ks, d, 0); hi > 0 {
			res.RankMin, res.RankMax = lo, hi
			break
		}
	}
	res.Base = loraBase(ks, md)
	if ks.prefix("bundle_emb.") {
		res.Notes = append(res.Notes, "with bundled embeddings")
	}
	return true
}

// ranks bounds shape[i] of the weights whose key contains part.
func ranks(ks *keySet, part string, i int) (lo, hi int) {
	for _, k := range ks.keys {
		if strings.Contains(k, part) && strings.HasSuffix(k, "weight") || strings.HasSuffix(k, part) {
			r := ks.dim(k, i)
			if r == 0 {
				continue
			}
			if lo == 0 || r < lo {
				lo = r
			}
			hi = max(hi, r)
		}
	}
	return lo, hi
}

// loraBase tells the base model of a LoRA or LyCORIS network: by the
// width of the UNet cross-attention keys (ComfyUI reads context_dim from
// attn2.to_k the same way), by the block names each family has, by the
// text encoder's width, and last by the trainer's metadata.
func loraBase(ks *keySet, md map[string]string) string {
	downs := []string{"lora_down.weight", "lora_A.weight", "lora.down.weight", "hada_w1_b", "hada_w2_b"}
	for _, k := range ks.keys {
		if !strings.Contains(k, "attn2_to_k") && !strings.Contains(k, "attn2.to_k") && !strings.Contains(k, "attn2.processor.to_k") {
			continue
		}
		for _, d := range downs {
			if strings.HasSuffix(k, d) {
				if b := contextBase(ks.dim(k, 1)); b != "" {
					return b
				}
			}
		}
	}
	switch {
	case ks.prefix("lora_unet_double_blocks_", "lora_unet_single_blocks_", "transformer.single_transformer_blocks.", "lora_transformer_single_transformer_blocks_", "diffusion_model.double_blocks."):
		return BaseFlux
	case ks.prefix("lora_unet_joint_blocks_", "transformer.transformer_blocks.", "diffusion_model.joint_blocks."):
		return BaseSD3
	case ks.prefix("lora_te2_", "lora_te1_", "text_encoder_2.", "lora_unet_input_blocks_", "lora_unet_output_blocks_", "lora_unet_middle_block_"):
		return BaseSDXL
	}
	for _, k := range ks.keys {
		if strings.HasPrefix(k, "lora_te_") && strings.Contains(k, "q_proj") && strings.HasSuffix(k, "lora_down.weight") {
			switch ks.dim(k, 1) {
			case 768:
				return BaseSD1
			case 1024:
				return BaseSD2
			}
		}
	}
	return metadataBase(md)
}

// contextBase names the family of a UNet cross-attention context width.
func contextBase(w int) string {
	switch w {
	case 768:
		return BaseSD1
	case 1024:
		return BaseSD2
	case 2048:
		return BaseSDXL
	}
	return ""
}

// metadataBase reads kohya's ss_base_model_version and ss_v2, and the
// Stability model spec's modelspec.architecture.
func metadataBase(md map[string]string) string {
	v := strings.ToLower(md["ss_base_model_version"] + " " + md["modelspec.architecture"])
	switch {
	case strings.Contains(v, "flux"):
		return BaseFlux
	case strings.Contains(v, "sdxl"), strings.Contains(v, "stable-diffusion-xl"):
		return BaseSDXL
	case strings.Contains(v, "sd3"), strings.Contains(v, "stable-diffusion-v3"):
		return BaseSD3
	case strings.Contains(v, "sd_v2"), strings.Contains(v, "stable-diffusion-v2"), md["ss_v2"] == "True":
		return BaseSD2
	case strings.Contains(v, "sd_v1"), strings.Contains(v, "stable-diffusion-v1"):
		return BaseSD1
	}
	return ""
}

func controlNet(res *Result, ks *keySet) bool {
	switch {
	case ks.prefix("control_model.") || ks.contains("input_hint_block.", "zero_convs."):
		res.Format = "A1111"
	case ks.prefix("controlnet_", "controlnet."):
		res.Format = "diffusers"
	default:
		return false
	}
	res.Kind = KindControlNet
	res.Base = unetContextBase(ks)
	if res.Base == "" && ks.contains("double_blocks.", "controlnet_x_embedder", "single_transformer_blocks.") {
		res.Base = BaseFlux
	}
	return true
}

// unetContextBase reads the cross-attention context width of any UNet
// transformer block (LDM, SGM or diffusers names).
func unetContextBase(ks *keySet) string {
	for _, k := range ks.keys {
		if strings.HasSuffix(k, "transformer_blocks.0.attn2.to_k.weight") {
			if b := contextBase(ks.dim(k, 1)); b != "" {
				return b
			}
		}
	}
	return ""
}

const diffusionModel = "model.diffusion_model."

func checkpoint(res *Result, ks *keySet) bool {
	full := ks.prefix(diffusionModel)
	if !full {
		return unetOnly(res, ks)
	}
	res.Kind = KindCheckpoint
	switch {
	case ks.prefix(diffusionModel + "joint_blocks."):
		res.Base = BaseSD3
	case ks.prefix(diffusionModel + "double_blocks."):
		res.Base = BaseFlux
	case ks.prefix("conditioner.embedders.1."):
		res.Base = BaseSDXL
	case ks.prefix("conditioner.embedders.0.model."):
		res.Base = BaseSDXL
		res.Notes = append(res.Notes, "refiner")
	case ks.prefix("cond_stage_model.model."):
		res.Base = BaseSD2
	case ks.prefix("cond_stage_model.transformer."):
		res.Base = BaseSD1
	default:
		res.Base = unetContextBase(ks)
	}
	if ks.dim(diffusionModel+"input_blocks.0.0.weight", 1) == 9 {
		res.Notes = append(res.Notes, "inpainting")
	}
	if ks.prefix("first_stage_model.", "vae.") {
		res.Parts = append(res.Parts, "VAE")
	}
	if ks.prefix("cond_stage_model.", "conditioner.", "text_encoders.") {
		res.Parts = append(res.Parts, "text encoder")
	}
	return true
}

// unetOnly: a diffusion model without the "model.diffusion_model."
// prefix (ComfyUI's models/unet files): Flux, SD3, an LDM UNet, a
// diffusers UNet or transformer.
func unetOnly(res *Result, ks *keySet) bool {
	switch {
	case ks.prefix("double_blocks.") && ks.prefix("single_blocks."):
		res.Base = BaseFlux
	case ks.prefix("joint_blocks."):
		res.Base = BaseSD3
	case ks.prefix("single_transformer_blocks.") && ks.prefix("x_embedder."):
		res.Base, res.Format = BaseFlux, "diffusers"
	case ks.prefix("transformer_blocks.") && ks.has("pos_embed.proj.weight"):
		res.Base, res.Format = BaseSD3, "diffusers"
	case ks.has("input_blocks.0.0.weight") && ks.prefix("middle_block.") && ks.prefix("time_embed."):
		res.Base = unetContextBase(ks)
	case ks.has("conv_in.weight") && ks.prefix("down_blocks.") && ks.prefix("time_embedding."):
		res.Base, res.Format = unetContextBase(ks), "diffusers"
	default:
		return false
	}
	res.Kind = KindCheckpoint
	res.Notes = append(res.Notes, "diffusion model only")
	return true
}

func vae(res *Result, ks *keySet) bool {
	conv := "decoder.conv_in.weight"
	switch {
	case ks.all("first_stage_model."):
		res.Format = "LDM"
		conv = "first_stage_model." + conv
	case ks.prefix("encoder.down.", "decoder.up."):
		res.Format = "LDM"
	case ks.prefix("encoder.down_blocks.") && ks.prefix("decoder.up_blocks."):
		res.Format = "diffusers"
	default:
		return false
	}
	res.Kind = KindVAE
	switch ks.dim(conv, 1) {
	case 4:
		res.Notes = append(res.Notes, "4 latent channels: SD1, SD2, SDXL")
	case 16:
		res.Notes = append(res.Notes, "16 latent channels: SD3, Flux")
	}
	return true
}

func textEncoder(res *Result, ks *keySet) bool {
	width := 0
	for _, k := range ks.keys {
		if strings.HasSuffix(k, "token_embedding.weight") {
			width = ks.dim(k, 1)
			break
		}
	}
	switch {
	case ks.contains("text_model.encoder.layers.") || ks.prefix("transformer.resblocks.") && width > 0:
		switch width {
		case 768:
			res.Format = "CLIP-L"
		case 1024:
			res.Format, res.Base = "OpenCLIP-H", BaseSD2
		case 1280:
			res.Format = "OpenCLIP-G" // SDXL and SD3 both use it
		default:
			res.Format = "CLIP"
		}
	case ks.prefix("encoder.block.") && ks.contains(".SelfAttention."):
		res.Format = "T5"
		if ks.dim("shared.weight", 1) == 4096 || ks.dim("encoder.embed_tokens.weight", 1) == 4096 {
			res.Format = "T5-XXL"
		}
	case ks.all("cond_stage_model.") || ks.all("conditioner.embedders."):
		res.Format = "from a checkpoint"
	default:
		return false
	}
	res.Kind = KindTextEncoder
	return true
}

func upscaler(res *Result, ks *keySet, wrapper string) bool {
	switch {
	case ks.has("model.0.weight") && ks.prefix("model.1.sub."):
		res.Format = "ESRGAN"
	case ks.has("conv_first.weight") && (ks.prefix("RRDB_trunk.", "body.") || ks.contains(".rdb1.", ".RDB1.") || ks.has("upconv1.weight")):
		res.Format = "ESRGAN"
	case ks.has("conv_first.weight") && ks.prefix("layers.0.residual_group."):
		res.Format = "SwinIR-style"
	case (wrapper == "params" || wrapper == "params_ema") && ks.all("body."):
		res.Format = "Real-ESRGAN compact"
	default:
		return false
	}
	res.Kind = KindUpscaler
	return true
}

func byteSize(m meta) (int64, bool) {
	n := int64(m.dtype.Bits())
	if n == 0 {
		return 0, false
	}
	for _, d := range m.shape {
		if d != 0 && n > (1<<62)/int64(d) {
			return 0, false
		}
		n *= int64(d)
	}
	return (n + 7) / 8, true
}

// listSome joins up to n items, then says how many more there are.
func listSome(items []string, n int) string {
	if len(items) == 0 {
		return "none"
	}
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s, … (%d more)", strings.Join(items[:n], ", "), len(items)-n)
}
