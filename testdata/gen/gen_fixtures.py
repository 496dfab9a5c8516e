#!/usr/bin/python3
"""Generate testdata/fixtures/: small, valid embeddings written by real PyTorch (torch.save),
by a safetensors writer that follows the reference implementation, and by Pillow (PNG image
embeddings), plus testdata/fixtures/expected.jsonl: torch's own reading of every fixture.

Run from the repository root with Debian's python:  /usr/bin/python3 testdata/gen/gen_fixtures.py

Deterministic: fixed seeds, fixed zip timestamps (torch writes 1980-01-01), and the pointer-number
storage keys of the legacy (non-zip) format are renamed to fixed numbers of the same length
(see embgen.normalise_legacy_keys).  Re-running reproduces the same bytes with the same torch/zlib/Pillow.
"""

import base64
import io
import json
import math
import os
import struct
import sys
import zipfile
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from PIL.PngImagePlugin import PngInfo  # noqa: E402

import embgen as E  # noqa: E402

OUT = E.out_dir("fixtures")
RECORDS = []

# ---------------------------------------------------------------------------------------------
# value generation


def gen(seed):
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def randn(seed, *shape, scale=0.0137):
    """float32 values like a real embedding (default: vector norms around 0.38 for D=768)."""
    return torch.randn(*shape, generator=gen(seed), dtype=torch.float32) * scale


def a1111_dict(vec, name, step, ckpt, ckpt_name):
    """The exact dict AUTOMATIC1111's Embedding.save writes (key order included)."""
    return {
        "string_to_token": {"*": 265},
        "string_to_param": {"*": vec},
        "name": name,
        "step": step,
        "sd_checkpoint": ckpt,
        "sd_checkpoint_name": ckpt_name,
    }


# ---------------------------------------------------------------------------------------------
# storage location trick: A1111 files trained on a GPU carry location 'cuda:0'.  A tagger
# registered with torch's own API makes torch.save write that tag without a GPU.

_FAKE_CUDA = [False]


def _tag(obj):
    return "cuda:0" if _FAKE_CUDA[0] else None


def _restore(obj, location):
    return None  # let the CPU deserializer handle map_location='cpu'


torch.serialization.register_package(5, _tag, _restore)


# ---------------------------------------------------------------------------------------------
# writers


def save_pt(obj, fname, legacy=False, via_path=True, cuda=False):
    """torch.save to testdata/fixtures/fname.  via_path=True gives the archive prefix torch
    derives from the file name (as real files have); False saves through a buffer ('archive/')."""
    path = os.path.join(OUT, fname)
    _FAKE_CUDA[0] = cuda
    try:
        if legacy:
            buf = io.BytesIO()
            torch.save(obj, buf, _use_new_zipfile_serialization=False)
            E.write_bytes(path, E.normalise_legacy_keys(buf.getvalue()))
        elif via_path:
            torch.save(obj, path)
        else:
            buf = io.BytesIO()
            torch.save(obj, buf)
            E.write_bytes(path, buf.getvalue())
    finally:
        _FAKE_CUDA[0] = False
    return path


def save_st(tensors, fname, metadata=None, align=True, leading=b""):
    path = os.path.join(OUT, fname)
    E.write_bytes(path, E.safetensors_bytes(tensors, metadata, align=align, leading=leading))
    return path


# ---------------------------------------------------------------------------------------------
# describing a fixture the way expected.jsonl records it


def storage_locations(pickles):
    """Locations named by ('storage', cls, key, location, ...) persistent ids (memo-aware)."""
    import pickletools
    locs = set()
    for data in pickles:
        memo, vals = {}, []
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            n = op.name
            if n in ("BINUNICODE", "SHORT_BINUNICODE", "SHORT_BINSTRING"):
                vals.append(("s", arg))
            elif n in ("BINPUT", "LONG_BINPUT"):
                memo[arg] = vals[-1] if vals else None
            elif n in ("BINGET", "LONG_BINGET"):
                vals.append(memo.get(arg))
            elif n == "GLOBAL":
                vals.append(("g", arg))
            else:
                vals.append(("op", n))
        for i in range(len(vals) - 3):
            if vals[i] == ("s", "storage") and vals[i + 1] and vals[i + 1][0] == "g" \
                    and "Storage" in vals[i + 1][1] and vals[i + 3] and vals[i + 3][0] == "s":
                locs.add(vals[i + 3][1])
    return sorted(locs)


def legacy_pickles(data):
    import pickletools
    f = io.BytesIO(data)
    out = []
    for _ in range(5):
        start = f.tell()
        for _op in pickletools.genops(f):
            pass
        out.append(data[start:f.tell()])
    return out


def describe_obj(obj):
    """kind/keys/dtype/vectors/dim/shape/norms/tensors/values_sha256 of a loaded object."""
    r = {}
    if isinstance(obj, dict):
        r["top_keys"] = sorted(obj.keys())
    if isinstance(obj, dict) and "string_to_param" in obj:
        sp = obj["string_to_param"]
        r["layout"] = "textual-inversion" if isinstance(sp, torch.nn.ParameterDict) else "a1111"
        params = dict(getattr(sp, "_parameters", sp))
        r["string_to_token"] = {k: (int(v.item()) if torch.is_tensor(v) else v)
                                for k, v in obj["string_to_token"].items()}
        for k in ("name", "step", "sd_checkpoint", "sd_checkpoint_name"):
            if k in obj:
                r[k] = obj[k]
        r["tensors"] = {k: E.tensor_info(v) for k, v in params.items()}
        r["values_sha256"] = {k: E.sha256(E.le_bytes(v)) for k, v in params.items()}
        if len(params) == 1:
            (k, v), = params.items()
            single(r, "string_to_param", [k], v)
        else:
            r["kind"] = "multi"
            r["model"] = "unknown"
            r["keys"] = list(params.keys())
            dts = {E.dtype_name(v) for v in params.values()}
            if len(dts) == 1:
                r["dtype"] = dts.pop()
            r["norms_by_key"] = {k: E.row_norms(v) for k, v in params.items()}
            r["error"] = "AssertionError: embedding file has multiple terms in it (keys %s)" % list(params.keys())
        return r
    tensors = {k: v for k, v in obj.items() if torch.is_tensor(v)}
    r["tensors"] = {k: E.tensor_info(v) for k, v in obj.items() if torch.is_tensor(v)}
    r["values_sha256"] = {k: E.sha256(E.le_bytes(v)) for k, v in tensors.items()}
    if "clip_g" in obj and "clip_l" in obj:
        g, l = obj["clip_g"], obj["clip_l"]
        r["layout"] = "sdxl"
        r["model"] = "sdxl"
        r["kind"] = "sdxl"
        r["keys"] = ["clip_l", "clip_g"]
        r["dtype"] = E.dtype_name(g)
        r["vectors"] = g.shape[0]
        r["dim"] = g.shape[-1] + l.shape[-1]
        r["shapes"] = {"clip_l": list(l.shape), "clip_g": list(g.shape)}
        r["norms_by_key"] = {"clip_l": E.row_norms(l), "clip_g": E.row_norms(g)}
        r["norms"] = E.concat_norms([l, g])
        return r
    if len(tensors) == 1:
        (k, v), = tensors.items()
        if k == "emb_params":
            r["layout"] = "kohya"
        elif k.startswith("<") and k.endswith(">"):
            r["layout"] = "diffusers"
        else:
            r["layout"] = "other"
        if v.dim() == 0:
            r["layout"] = "other"
            r["model"] = "unknown"
            r["kind"] = "error"
            r["keys"] = [k]
            r["dtype"] = E.dtype_name(v)
            r["shape"] = []
            r["error"] = "IndexError: tensor %r is 0-dimensional: no vector axis, not an embedding" % k
            return r
        single(r, "single_tensor", [k], v)
        return r
    r["layout"] = "other"
    r["model"] = "unknown"
    r["kind"] = "multi"
    r["keys"] = list(tensors.keys())
    dts = {E.dtype_name(v) for v in tensors.values()}
    if len(dts) == 1:
        r["dtype"] = dts.pop()
    r["norms_by_key"] = {k: E.row_norms(v) for k, v in tensors.items()
                         if v.is_floating_point() and v.dim() > 0}
    r["error"] = "ValueError: embedding file has multiple terms in it (keys %s)" % list(tensors.keys())
    return r


def single(r, kind, keys, v):
    r["kind"] = kind
    r["keys"] = keys
    r["dtype"] = E.dtype_name(v)
    r["vectors"] = 1 if v.dim() == 1 else int(np.prod(v.shape[:-1]))
    r["dim"] = v.shape[-1]
    r["shape"] = list(v.shape)
    r["norms"] = E.row_norms(v)
    r.setdefault("model", {768: "sd1", 1024: "sd2"}.get(v.shape[-1], "unknown"))


def record(fname, note, obj_override=None, extra=None):
    """Read the fixture back with torch (or our safetensors reader / PNG decoder) and append
    its expected.jsonl record."""
    path = os.path.join(OUT, fname)
    data = open(path, "rb").read()
    r = {"file": fname, "note": note, "sha256": E.sha256(data), "size": len(data),
         "format": os.path.splitext(fname)[1].lstrip(".").lower()}
    if data[:4] == b"PK\x03\x04" or data[:2] == b"\x80\x02":
        legacy = data[:2] == b"\x80\x02"
        obj = torch.load(path, map_location="cpu", weights_only=False)
        r["container"] = "legacy" if legacy else "zip"
        if legacy:
            pk = legacy_pickles(data)
        else:
            z = zipfile.ZipFile(path)
            r["zip_entries"] = z.namelist()
            pk = [z.read(n) for n in z.namelist() if n.endswith("/data.pkl")]
        r["pickle_globals"] = sorted({g for p in pk for g in E.pickle_globals(p)})
        r["storage_locations"] = storage_locations(pk)
        try:
            torch.load(path, map_location="cpu", weights_only=True)
            r["weights_only"] = True
        except Exception as e:  # noqa: BLE001
            r["weights_only"] = False
            r["weights_only_refused"] = ("%s: %s" % (type(e).__name__, e))[:400]
    elif fname.endswith(".safetensors"):
        obj, meta = E.read_safetensors(data)
        n = struct.unpack("<Q", data[:8])[0]
        r["container"] = "safetensors"
        r["header_len"] = n
        if meta is not None:
            r["metadata"] = meta
    else:
        r["container"] = "png"
        obj = obj_override
    if obj_override is not None:
        obj = obj_override
    if obj is None:
        r["kind"] = "error"
    else:
        r.update(describe_obj(obj))
    if extra:
        r.update(extra)
    RECORDS.append(r)
    print("%-36s %7d  %s" % (fname, len(data), r.get("kind")))


# ---------------------------------------------------------------------------------------------
# PNG image embeddings (A1111 image_embedding.py, formats.md section 6)


class EmbeddingEncoder(json.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, torch.Tensor):
            return {"TORCHTENSOR": obj.cpu().detach().numpy().tolist()}
        return json.JSONEncoder.default(self, obj)


def embedding_from_json(data):
    def hook(d):
        if "TORCHTENSOR" in d:
            return torch.from_numpy(np.array(d["TORCHTENSOR"]))
        return d
    return json.loads(data, object_hook=hook)


def lcg(m=2 ** 32, a=1664525, c=1013904223, seed=0):
    while True:
        seed = (a * seed + c) % m
        yield seed % 255


def xor_block(block):
    g = lcg()
    randblock = np.array([next(g) for _ in range(np.prod(block.shape))]).astype(np.uint8).reshape(block.shape)
    return np.bitwise_xor(block.astype(np.uint8), randblock & 0x0F)


def insert_image_data_embed(image, data):
    """A1111's insert_image_data_embed without the cosmetic style_block (high nibbles stay 0)."""
    d = 3
    data_compressed = zlib.compress(json.dumps(data, cls=EmbeddingEncoder).encode(), level=9)
    data_np_ = np.frombuffer(data_compressed, np.uint8).copy()
    data_np_high = data_np_ >> 4
    data_np_low = data_np_ & 0x0F
    h = image.size[1]
    next_size = data_np_low.shape[0] + (h - (data_np_low.shape[0] % h))
    next_size = next_size + ((h * d) - (next_size % (h * d)))
    data_np_low = np.resize(data_np_low, next_size).reshape((h, -1, d))
    data_np_high = np.resize(data_np_high, next_size).reshape((h, -1, d))
    data_np_low = xor_block(data_np_low)
    data_np_high = xor_block(data_np_high)
    im_low = Image.fromarray(data_np_low, mode="RGB")
    im_high = Image.fromarray(data_np_high, mode="RGB")
    background = Image.new("RGB", (image.size[0] + im_low.size[0] + im_high.size[0] + 2, image.size[1]), (0, 0, 0))
    background.paste(im_low, (0, 0))
    background.paste(image, (im_low.size[0] + 1, 0))
    background.paste(im_high, (im_low.size[0] + 1 + image.size[0] + 1, 0))
    return background, len(data_compressed)


def crop_black(img, tol=0):
    mask = (img > tol).all(2)
    mask0, mask1 = mask.any(0), mask.any(1)
    col_start, col_end = mask0.argmax(), mask.shape[1] - mask0[::-1].argmax()
    row_start, row_end = mask1.argmax(), mask.shape[0] - mask1[::-1].argmax()
    return img[row_start:row_end, col_start:col_end]


def extract_image_data_embed(image):
    """A1111's extract_image_data_embed, verbatim in behaviour (used to verify our PNG)."""
    d = 3
    outarr = crop_black(np.array(image.convert("RGB").getdata()).reshape(image.size[1], image.size[0], d).astype(np.uint8)) & 0x0F
    black_cols = np.where(np.sum(outarr, axis=(0, 2)) == 0)
    if black_cols[0].shape[0] < 2:
        return None
    data_block_lower = outarr[:, :black_cols[0].min(), :].astype(np.uint8)
    data_block_upper = outarr[:, black_cols[0].max() + 1:, :].astype(np.uint8)
    data_block_lower = xor_block(data_block_lower)
    data_block_upper = xor_block(data_block_upper)
    data_block = (data_block_upper << 4) | (data_block_lower)
    data_block = data_block.flatten().tobytes()
    data = zlib.decompress(data_block)
    return embedding_from_json(data)


def picture(w, h, seed):
    """A deterministic, never-black picture (every channel of every pixel > 0)."""
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    r = 40 + (x * 180 // max(w - 1, 1))
    g = 40 + (y * 180 // max(h - 1, 1))
    b = 90 + ((x + y) % 32) * 4
    img = np.stack([r, g, b], axis=2) + rng.randint(0, 8, size=(h, w, 3))
    return Image.fromarray(np.clip(img, 1, 255).astype(np.uint8), mode="RGB")


def png_bytes(img, text=None):
    info = None
    if text is not None:
        info = PngInfo()
        for k, v in text.items():
            info.add_text(k, v)
    buf = io.BytesIO()
    img.save(buf, format="PNG", pnginfo=info, optimize=False, compress_level=9)
    return buf.getvalue()


def quantised(seed, n, dim=768):
    """float32 values k/256 (short JSON reprs, exactly representable) so the PNGs stay small."""
    rng = np.random.RandomState(seed)
    return torch.from_numpy((rng.randint(-24, 25, size=(n, dim)) / 256.0).astype(np.float32))


# ---------------------------------------------------------------------------------------------
# the fixtures


def main():
    for f in os.listdir(OUT):
        if f != ".gitkeep":
            os.remove(os.path.join(OUT, f))

    # --- V1: AUTOMATIC1111 layout, zip, four dtypes ------------------------------------------
    v = randn(101, 2, 768, scale=0.17)
    v.requires_grad_(True)  # A1111 saves the training tensor: NEWTRUE in the pickle
    save_pt(a1111_dict(v, "a1111_f32", 1500, "7ab762a7", "blossom-extract"), "a1111_f32.pt", cuda=True)
    record("a1111_f32.pt", "A1111 V1, F32 [2,768], requires_grad, location cuda:0, legacy 8-hex sd_checkpoint")

    save_pt(a1111_dict(randn(102, 2, 768).half(), "a1111_f16", None, None, None), "a1111_f16.pt", via_path=False)
    record("a1111_f16.pt", "A1111 V1, F16 [2,768] (HalfStorage), prefix archive/, step/checkpoint None")

    save_pt(a1111_dict(randn(103, 2, 768).bfloat16(), "a1111_bf16", 3000000000, "08d6be750b", "NegTIModel"),
            "a1111_bf16.pt")
    record("a1111_bf16.pt", "A1111 V1, BF16 [2,768], step 3000000000 (LONG1 in the pickle), 10-hex sd_checkpoint")

    save_pt(a1111_dict(randn(104, 2, 768).double(), "a1111_f64", 70000, "cae1bee30e", "illuminatidiffusion_v1.1"),
            "a1111_f64.pt")
    record("a1111_f64.pt", "A1111 V1, F64 [2,768] (DoubleStorage), step 70000 (BININT)")

    save_pt(a1111_dict(randn(105, 3, 1024, scale=0.012), "a1111_sd2", 419, "88ecb78256", "2_base_v2-1_512-ema-pruned"),
            "a1111_sd2.pt")
    record("a1111_sd2.pt", "A1111 V1 for SD2: F32 [3,1024]")

    # --- V7: the same in the legacy (non-zip) format ------------------------------------------
    for dt, seed in (("f32", 111), ("f16", 112), ("bf16", 113), ("f64", 114)):
        t = randn(seed, 2, 768, scale=0.05)
        t = {"f32": t, "f16": t.half(), "bf16": t.bfloat16(), "f64": t.double()}[dt]
        fname = "legacy_a1111_%s.pt" % dt
        save_pt(a1111_dict(t, "legacy_a1111_%s" % dt, 500, "925997e9", "NovelAI"), fname, legacy=True,
                cuda=(dt == "f32"))
        record(fname, "A1111 V1 in the legacy non-zip format (_use_new_zipfile_serialization=False), %s [2,768]" % dt.upper())

    # --- V2: original textual_inversion ParameterDict layout ----------------------------------
    def ti_obj(seed, terms):
        toks, params = {}, torch.nn.ParameterDict()
        for i, (term, tok_id) in enumerate(terms):
            batch = torch.tensor([[49406, tok_id] + [49407] * 75], dtype=torch.int64)  # [1,77]
            toks[term] = batch[0, 1]  # 0-dim view, storage offset 1 of 77
            params[term] = torch.nn.Parameter(randn(seed + i, 2, 768, scale=0.3))
        return {"string_to_token": toks, "string_to_param": params}

    save_pt(ti_obj(121, [("*", 265)]), "ti_paramdict.pt", via_path=False)
    record("ti_paramdict.pt", "original textual_inversion V2: ParameterDict, 0-dim int64 token view (offset 1 of a [1,77] LongStorage)")
    save_pt(ti_obj(123, [("*", 265)]), "legacy_ti_paramdict.pt", legacy=True)
    record("legacy_ti_paramdict.pt", "V2 ParameterDict in the legacy format: has ('module', ParameterDict, file, source) persistent ids")
    save_pt(ti_obj(125, [("*", 265), ("@", 31)]), "ti_paramdict_multi.pt", via_path=False)
    record("ti_paramdict_multi.pt", "V2 ParameterDict with two placeholders ('*', '@'): multiple terms, A1111 refuses")

    # --- V3: diffusers ------------------------------------------------------------------------
    big = randn(131, 10, 768, scale=0.1)  # a CPU embedding matrix; row 3 is the learned token
    save_pt({"<cat-toy>": big[3]}, "diffusers_row_view.bin", via_path=False)
    record("diffusers_row_view.bin", "diffusers V3 1-D [768] row view: storage offset 2304 into a 10x768 storage (7680 elements)")
    save_pt({"<cat-toy>": randn(132, 2, 768, scale=0.1)}, "learned_embeds.bin")
    record("learned_embeds.bin", "diffusers V3 2-D [2,768], prefix learned_embeds/")
    save_st({"<detail-schemas>": randn(133, 1, 768, scale=0.1)}, "diffusers_1x768.safetensors", metadata={"format": "pt"})
    record("diffusers_1x768.safetensors", "diffusers V3 safetensors [1,768] with __metadata__ {format: pt}")

    # --- views -------------------------------------------------------------------------------
    base = randn(141, 768, 3)
    tt = base.t()  # [3,768], stride (1,3)
    assert tt.stride() == (1, 3) and not tt.is_contiguous()
    save_pt({"emb_params": tt}, "transposed.pt")
    record("transposed.pt", "kohya-style [3,768] saved as a transposed view: stride (1,3), not contiguous")
    big = randn(142, 4, 768)
    save_pt({"a": big[0:2], "b": big[2:4]}, "shared_storage.pt")
    record("shared_storage.pt", "two tensors sharing one storage (offsets 0 and 1536): not a layout (two keys)")

    # --- V4: kohya emb_params -----------------------------------------------------------------
    k8 = randn(151, 8, 768)
    save_pt({"emb_params": k8}, "kohya_f32.pt", via_path=False)
    record("kohya_f32.pt", "kohya V4 {emb_params: F32 [8,768]} as .pt (like EasyNegative.pt)")
    save_st({"emb_params": k8}, "kohya_f32.safetensors")
    record("kohya_f32.safetensors", "kohya V4 F32 [8,768] safetensors, same values as kohya_f32.pt")
    save_st({"emb_params": randn(152, 8, 768).half()}, "kohya_f16.safetensors")
    record("kohya_f16.safetensors", "kohya V4 F16 [8,768] safetensors (save_dtype fp16)")
    save_st({"emb_params": randn(153, 8, 768)}, "kohya_b.safetensors")
    record("kohya_b.safetensors", "kohya V4 F32 [8,768], second input for blends")
    save_pt({"emb_params": randn(154, 6, 768)}, "kohya_6.pt")
    record("kohya_6.pt", "kohya V4 F32 [6,768] .pt, for blends with zero padding")
    st = E.safetensors_bytes({"emb_params": randn(155, 2, 768)}, align=False)
    E.write_bytes(os.path.join(OUT, "kohya_unaligned.safetensors"), st)
    record("kohya_unaligned.safetensors", "kohya V4 written like pre-2023 safetensors: no header padding, 8+N not a multiple of 8")
    meta = {
        "modelspec.sai_model_spec": "1.0.0",
        "modelspec.architecture": "stable-diffusion-v1/textual-inversion",
        "modelspec.implementation": "diffusers",
        "modelspec.title": "TextualInversion@1700000000",
        "modelspec.date": "2023-11-14T22:13:20",
        "modelspec.resolution": "512x512",
        "modelspec.prediction_type": "epsilon",
        "modelspec.is_negative_embedding": "True",
    }
    save_st({"emb_params": randn(156, 2, 768)}, "kohya_modelspec.safetensors", metadata=meta)
    record("kohya_modelspec.safetensors", "kohya V4 with __metadata__ of SAI model-spec keys")
    save_st({"emb_params": randn(157, 2, 768)}, "leading_ws.safetensors", leading=b"\n\t  ")
    record("leading_ws.safetensors", "safetensors whose header JSON starts with whitespace (\\n\\t and two spaces) before '{'; readers must tolerate it")

    # --- V5: SDXL -----------------------------------------------------------------------------
    sx = {"clip_g": randn(161, 4, 1280, scale=0.017), "clip_l": randn(162, 4, 768)}
    save_st(sx, "sdxl.safetensors")
    record("sdxl.safetensors", "kohya SDXL {clip_g [4,1280], clip_l [4,768]} F32")
    save_pt({"clip_g": sx["clip_g"], "clip_l": sx["clip_l"]}, "sdxl.pt", cuda=True)
    record("sdxl.pt", "SDXL in a torch zip (like zPDXLrl.pt), same values as sdxl.safetensors, two storages")
    sx2 = {"clip_g": randn(163, 4, 1280, scale=0.017).half(), "clip_l": randn(164, 4, 768).half()}
    save_st(sx2, "sdxl_b_f16.safetensors")
    record("sdxl_b_f16.safetensors", "SDXL F16 [4,*], second input for the SDXL blend")

    # --- not a CLIP layout --------------------------------------------------------------------
    save_pt({"emb": randn(171, 768).bfloat16(), "emb2": randn(172, 1280).bfloat16()}, "emb_emb2_bf16.pt", cuda=True)
    record("emb_emb2_bf16.pt", "{emb: BF16 [768], emb2: BF16 [1280]} like myPuppet768.pt: not a layout any UI loads")
    save_st({"t5xxl": randn(173, 4, 4096, scale=0.5)}, "t5xxl.safetensors")
    record("t5xxl.safetensors", "{t5xxl: F32 [4,4096]}: a T5 embedding, width 4096, not CLIP")
    xti_keys = ["IN01", "IN02", "IN04", "IN05", "IN07", "IN08", "MID", "OUT03", "OUT04", "OUT05",
                "OUT06", "OUT07", "OUT08", "OUT09", "OUT10", "OUT11"]
    save_st({k: randn(180 + i, 1, 768).half() for i, k in enumerate(xti_keys)}, "xti.safetensors")
    record("xti.safetensors", "kohya XTI: 16 keys IN01..OUT11, each F16 [1,768]: multi-term")

    # --- values and names --------------------------------------------------------------------
    nv = randn(201, 3, 768)
    nv[0, 5] = float("nan")
    nv[0, 700] = float("-nan")
    nv[1, 0] = float("inf")
    nv[1, 1] = float("-inf")
    save_pt(a1111_dict(nv, "nan_inf", 10, None, None), "nan_inf.pt")
    record("nan_inf.pt", "A1111 V1 F32 [3,768]: row 0 has NaNs, row 1 +Inf and -Inf, row 2 finite (norms: NaN, Infinity, finite)")
    save_st({"emb_params": nv}, "nan_inf.safetensors")
    record("nan_inf.safetensors", "kohya V4 with the same NaN/Inf values as nan_inf.pt")
    zv = randn(202, 3, 768)
    zv[1] = 0.0
    save_st({"emb_params": zv}, "zero_vector.safetensors")
    record("zero_vector.safetensors", "kohya V4 F32 [3,768] whose vector 1 is all zeros (norm 0)")
    iv = randn(203, 1, 768).repeat(2, 1)
    save_pt(a1111_dict(iv, "identical_vectors", 100, None, None), "identical_vectors.pt")
    record("identical_vectors.pt", "A1111 V1 F32 [2,768] with two identical vectors")
    save_pt(a1111_dict(randn(204, 2, 768, scale=0.2), "original-name-500", 499, "7ab762a7", "blossom-extract"),
            "stored_name_differs.pt")
    record("stored_name_differs.pt", "A1111 V1 whose stored name 'original-name-500' differs from the file stem")
    save_pt({"emb_params": torch.tensor(0.25)}, "scalar_0dim.pt")
    record("scalar_0dim.pt", "{emb_params: 0-dim F32 tensor}: size=(), stride=(): no vector axis")
    ints = {
        "i32": torch.tensor([1, -2, 2 ** 31 - 1, -2 ** 31], dtype=torch.int32),
        "i16": torch.tensor([1, -2, 32767, -32768], dtype=torch.int16),
        "i8": torch.tensor([1, -2, 127, -128], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, False, True]),
    }
    save_pt(ints, "int_dtypes.pt")
    record("int_dtypes.pt", "dict of Int/Short/Char/Byte/Bool [4] tensors: not an embedding, storage classes only")

    # --- V6: PNG image embeddings -------------------------------------------------------------
    pv = quantised(301, 2)
    pdata = a1111_dict(pv, "png-text", 60, None, None)
    pic = picture(64, 64, 7)
    text_b64 = base64.b64encode(json.dumps(pdata, cls=EmbeddingEncoder).encode())
    E.write_bytes(os.path.join(OUT, "png_text.png"), png_bytes(pic, {"sd-ti-embedding": text_b64}))
    im = Image.open(os.path.join(OUT, "png_text.png"))
    decoded = embedding_from_json(base64.b64decode(im.text["sd-ti-embedding"]))
    assert extract_image_data_embed(im) is None
    record("png_text.png", "A1111 image embedding: only the sd-ti-embedding tEXt chunk (base64 JSON), 64x64 picture",
           obj_override=decoded, extra={"image_source": "text-chunk", "layout": "a1111", "model": "sd1"})

    pv2 = quantised(302, 2)
    pdata2 = a1111_dict(pv2, "png-pixels", 120, None, None)
    img, zlen = insert_image_data_embed(picture(64, 64, 8), pdata2)
    E.write_bytes(os.path.join(OUT, "png_pixels.png"), png_bytes(img))
    im = Image.open(os.path.join(OUT, "png_pixels.png"))
    assert "sd-ti-embedding" not in im.text
    decoded = extract_image_data_embed(im)
    assert decoded is not None and torch.equal(decoded["string_to_param"]["*"], pv2.double())
    w_block = (img.size[0] - 64 - 2) // 2
    record("png_pixels.png", "A1111 image embedding: only pixel-border data (nibbles + LCG xor, no style_block, high nibbles 0)",
           obj_override=decoded, extra={"image_source": "pixel-border", "layout": "a1111", "model": "sd1",
                                        "png_geometry": {"width": img.size[0], "height": img.size[1],
                                                         "block_width": w_block, "separators": [w_block, w_block + 65],
                                                         "zlib_stream_len": zlen}})

    E.write_bytes(os.path.join(OUT, "png_plain.png"), png_bytes(picture(48, 32, 9)))
    im = Image.open(os.path.join(OUT, "png_plain.png"))
    assert extract_image_data_embed(im) is None and "sd-ti-embedding" not in im.text
    record("png_plain.png", "a plain picture: no sd-ti-embedding chunk, no pixel-border data",
           extra={"error": "no sd-ti-embedding text chunk and no pixel-border data (a plain/preview image)"})

    # sanity: every fixture of a layout with one term says so
    E.write_jsonl(os.path.join(OUT, "expected.jsonl"), RECORDS)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("%d fixtures, %d bytes in testdata/fixtures" % (len(RECORDS), total))


if __name__ == "__main__":
    main()
