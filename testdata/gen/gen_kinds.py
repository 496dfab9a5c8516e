#!/usr/bin/python3
"""Generate testdata/kinds/: small model files that are not embeddings, written by real
torch.save / torch.jit.save with the key names the real tools use, plus expected.jsonl with
the kind (and format, base model, rank) pkg/identify must name for each.

Run from the repository root:  /usr/bin/python3 testdata/gen/gen_kinds.py

Key names: A1111 modules/hypernetworks/hypernetwork.py (save: int context-width keys, each a
tuple of two layer state dicts, beside layer_structure/activation_func/...), kohya-ss/sd-scripts
networks/lora.py (lora_unet_/lora_te_, lora_down/lora_up/alpha), BasicSR/Real-ESRGAN
(params_ema, conv_first, body.N.rdbM), lllyasviel ControlNet (control_model.input_hint_block,
zero_convs), diffusers AutoencoderKL (encoder.down_blocks/decoder.up_blocks), T5 (encoder.block,
shared), LDM checkpoints (state_dict, model.diffusion_model., an inpainting UNet's 9 input
channels). Shapes are small; the names are what identify reads.

Output is reproducible (fixed seed, legacy keys normalised) except scripted.pt: torch.jit.save
writes a different archive on each run.
"""

import collections
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import embgen as E  # noqa: E402

OUT = E.out_dir("kinds")
RECORDS = []
g = torch.Generator().manual_seed(10)


def randn(*shape):
    return torch.randn(*shape, generator=g)


def add(fname, data, kind, **want):
    E.write_bytes(os.path.join(OUT, fname), data)
    RECORDS.append(dict(file=fname, kind=kind, sha256=E.sha256(data), size=len(data), **want))


def saved(fname, obj, legacy=False):
    """torch.save to the file's own name (the zip's folder is its stem), read back."""
    path = os.path.join(OUT, fname)
    torch.save(obj, path, _use_new_zipfile_serialization=not legacy)
    with open(path, "rb") as f:
        data = f.read()
    return E.normalise_legacy_keys(data) if legacy else data


def hypernetwork():
    def layer(o, i):
        return collections.OrderedDict([("linear.0.weight", randn(o, i)), ("linear.0.bias", randn(o))])
    hn = {}
    for w in (320, 640, 768, 1280):
        hn[w] = (layer(2, w), layer(w, 2))
    hn.update(step=1000, name="anime", layer_structure=[1, 2, 1], activation_func="swish",
              is_layer_norm=False, weight_initialization="Normal", sd_checkpoint="a9263745",
              sd_checkpoint_name="v1-5-pruned", activate_output=False, use_dropout=False,
              dropout_structure=[0, 0, 0], last_layer_dropout=False, optimizer_name="AdamW")
    return hn


def kohya_lora(rank, te, unet_block, context):
    d = {}
    u = f"lora_unet_{unet_block}_transformer_blocks_0_attn2_to_k"
    d[u + ".lora_down.weight"] = randn(rank, context)
    d[u + ".lora_up.weight"] = randn(320, rank)
    d[u + ".alpha"] = torch.tensor(float(rank))
    t = f"{te}_text_model_encoder_layers_0_self_attn_q_proj"
    d[t + ".lora_down.weight"] = randn(rank, 768)
    d[t + ".lora_up.weight"] = randn(768, rank)
    d[t + ".alpha"] = torch.tensor(float(rank))
    return d


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(4, 4)

    def forward(self, x):
        return self.l(x)


def main():
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    add("hypernetwork.pt", saved("hypernetwork.pt", hypernetwork()), "hypernetwork", format="A1111")
    add("lora_legacy.pt", saved("lora_legacy.pt", kohya_lora(4, "lora_te", "down_blocks_0_attentions_0", 768), legacy=True),
        "lora", format="kohya", base="SD1", rank=4)
    add("lora_sdxl.safetensors",
        E.safetensors_bytes(kohya_lora(4, "lora_te1", "input_blocks_4_1", 2048),
                            {"ss_network_module": "networks.lora", "ss_network_dim": "4"}),
        "lora", format="kohya", base="SDXL", rank=4)
    add("RealESRGAN_x4plus.pth", saved("RealESRGAN_x4plus.pth", {"params_ema": {
        "conv_first.weight": randn(8, 3, 3, 3), "body.0.rdb1.conv1.weight": randn(4, 8, 3, 3),
        "conv_body.weight": randn(8, 8, 3, 3)}}), "upscaler", format="ESRGAN")
    add("inpainting_legacy.ckpt", saved("inpainting_legacy.ckpt", {"state_dict": {
        "model.diffusion_model.input_blocks.0.0.weight": randn(8, 9, 3, 3),
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": randn(4, 768),
        "first_stage_model.decoder.conv_in.weight": randn(8, 4, 3, 3)}, "global_step": 1}, legacy=True),
        "checkpoint", base="SD1")
    add("control_sd15_canny.pth", saved("control_sd15_canny.pth", {
        "control_model.input_hint_block.0.weight": randn(16, 3, 3, 3),
        "control_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight": randn(8, 768),
        "control_model.zero_convs.0.0.weight": randn(8, 8, 1, 1)}), "controlnet", base="SD1")
    add("vae_diffusers.safetensors", E.safetensors_bytes({
        "encoder.down_blocks.0.resnets.0.conv1.weight": randn(8, 8, 3, 3),
        "decoder.up_blocks.0.resnets.0.conv1.weight": randn(8, 8, 3, 3),
        "decoder.conv_in.weight": randn(8, 4, 3, 3)}), "vae", format="diffusers")
    add("t5xxl.safetensors", E.safetensors_bytes({
        "shared.weight": randn(4, 4096).half(),
        "encoder.block.0.layer.0.SelfAttention.q.weight": randn(2, 4096).half()}),
        "text-encoder", format="T5-XXL")
    path = os.path.join(OUT, "scripted.pt")
    torch.jit.script(Tiny()).save(path)
    with open(path, "rb") as f:
        data = f.read()
    add("scripted.pt", data, "torchscript")
    E.write_jsonl(os.path.join(OUT, "expected.jsonl"), RECORDS)
    print(f"wrote {len(RECORDS)} files to {OUT}")


if __name__ == "__main__":
    main()
