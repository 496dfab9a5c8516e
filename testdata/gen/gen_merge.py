#!/usr/bin/python3
"""Generate testdata/merge/expected.jsonl: `embtool merge` results computed with torch.

Run from the repository root, after gen_fixtures.py:  /usr/bin/python3 testdata/gen/gen_merge.py

Inputs are the fixtures in testdata/fixtures/ and, when ../shared/corpus/real/ exists next to
the repository, a few real corpus files (read in place, never copied; corpus .pt files are read
with torch.load(weights_only=True)).  Cases whose corpus file is missing are skipped with a note.

Semantics (what the Go merge must reproduce):
  * every input is read, its vectors widened/narrowed to float32 (f16/bf16 exactly, f64 by RNE);
    a 1-D tensor is one vector; SDXL inputs are handled per encoder (clip_l with clip_l,
    clip_g with clip_g, in step);
  * IN[slice] selects rows with Python slice semantics; [i] keeps one row (2-D [1, D]);
  * blend: out = sum_i fl32(fl32(w_i) * x_i) accumulated in float32 in input order, each
    product rounded to float32 before the addition (no FMA); inputs with fewer rows are
    zero-padded to the longest;
  * concat: rows stacked in input order;
  * then --scale F: fl32(fl32(F) * x);  or --norm X: each row r with float64 norm n > 0 becomes
    fl32(float64(r) * (X / n)); zero rows stay zero.
Compare with a relative tolerance of 1e-6 (absolute 1e-7 for values near zero).
"""

import base64
import os
import struct
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import embgen as E  # noqa: E402

OUT = E.out_dir("merge")
FIX = "testdata/fixtures/"
CORPUS = "../shared/corpus/real/"
RECORDS = []


def load(relpath):
    """{component: float32 [n, D]}; component is '' for SD1/SD2, clip_l/clip_g for SDXL."""
    path = os.path.normpath(os.path.join(E.ROOT, relpath))
    if path.endswith(".safetensors"):
        obj, _ = E.read_safetensors(open(path, "rb").read())
    else:
        trusted = relpath.startswith(FIX)
        obj = torch.load(path, map_location="cpu", weights_only=not trusted)
    if "string_to_param" in obj:
        sp = dict(getattr(obj["string_to_param"], "_parameters", obj["string_to_param"]))
        assert len(sp) == 1
        comps = {"": next(iter(sp.values()))}
    elif "clip_l" in obj and "clip_g" in obj:
        comps = {"clip_l": obj["clip_l"], "clip_g": obj["clip_g"]}
    else:
        ts = [v for v in obj.values() if torch.is_tensor(v)]
        assert len(ts) == 1, relpath
        comps = {"": ts[0]}
    out = {}
    for k, t in comps.items():
        t = t.detach().to(torch.float32)
        if t.dim() == 1:
            t = t.unsqueeze(0)
        out[k] = t.contiguous()
    return out


def apply_slice(t, s):
    if s is None:
        return t
    body = s[1:-1]
    if ":" not in body:
        i = int(body)
        i = i + t.shape[0] if i < 0 else i
        assert 0 <= i < t.shape[0]
        return t[i:i + 1]
    a, b = (body.split(":") + [""])[:2]
    return t[slice(int(a) if a else None, int(b) if b else None)]


def f32(x):
    return torch.tensor(x, dtype=torch.float32)


def case(name, description, inputs, mode, weights=None, scale=None, norm=None, corpus=False):
    """inputs: list of (relpath, slice-or-None)."""
    for p, _ in inputs:
        if not os.path.exists(os.path.normpath(os.path.join(E.ROOT, p))):
            print("skip %s: %s is missing" % (name, p))
            return
    parts = [{k: apply_slice(v, s) for k, v in load(p).items()} for p, s in inputs]
    keys = list(parts[0].keys())
    assert all(list(q.keys()) == keys for q in parts)
    outputs = {}
    for k in keys:
        xs = [q[k] for q in parts]
        if mode == "concat":
            out = torch.cat(xs, 0)
        else:
            rows = max(x.shape[0] for x in xs)
            out = torch.zeros(rows, xs[0].shape[1], dtype=torch.float32)
            for w, x in zip(weights, xs):
                prod = f32(w) * x  # rounded to float32
                out[:x.shape[0]] = out[:x.shape[0]] + prod
        if scale is not None:
            out = f32(scale) * out
        if norm is not None:
            d = out.to(torch.float64)
            n = d.pow(2).sum(1, keepdim=True).sqrt()
            factor = torch.where(n > 0, norm / torch.where(n > 0, n, torch.ones_like(n)), torch.zeros_like(n))
            out = torch.where(n > 0, d * factor, d).to(torch.float32)
        raw = E.le_bytes(out)
        outputs[k or "vectors"] = {
            "shape": list(out.shape), "dtype": "float32",
            "values_f32_b64": base64.b64encode(raw).decode("ascii"),
            "sha256": E.sha256(raw),
            "norms": E.row_norms(out),
            "first": [float(v) for v in out.reshape(-1)[:4].tolist()],
        }
    args = ["merge", "--mode", mode]
    if weights is not None:
        args += ["--weights", ",".join(repr(float(w)) for w in weights)]
    if scale is not None:
        args += ["--scale", repr(scale)]
    if norm is not None:
        args += ["--norm", repr(norm)]
    ins = [{"path": p, "slice": s, "arg": p + (s or "")} for p, s in inputs]
    args += ["-o", "OUT.safetensors"] + [i["arg"] for i in ins]
    RECORDS.append({
        "case": name, "description": description, "inputs": ins, "mode": mode,
        "weights": weights, "scale": scale, "norm": norm, "corpus": corpus,
        "model": "sdxl" if "clip_g" in keys else {768: "sd1", 1024: "sd2"}.get(parts[0][""].shape[1], "unknown"),
        "args": args, "outputs": outputs, "tolerance": {"rel": 1e-6, "abs": 1e-7},
    })
    print("%-28s %s" % (name, {k: v["shape"] for k, v in outputs.items()}))


def main():
    F = FIX
    case("blend_two_8", "blend 0.5/0.5 of two F32 [8,768]",
         [(F + "kohya_f32.safetensors", None), (F + "kohya_b.safetensors", None)], "blend", [0.5, 0.5])
    case("blend_pad_8_6", "blend 0.5/0.5 of [8,768] and [6,768]: rows 6 and 7 of the second are zeros",
         [(F + "kohya_f32.safetensors", None), (F + "kohya_6.pt", None)], "blend", [0.5, 0.5])
    case("blend_f32_f16_uneven", "blend 0.3/0.9 (weights need not sum to 1) of a F32 .pt and a F16 safetensors",
         [(F + "kohya_f32.pt", None), (F + "kohya_f16.safetensors", None)], "blend", [0.3, 0.9])
    case("blend_bf16_f64", "blend 0.5/0.5 of an A1111 BF16 [2,768] and an A1111 F64 [2,768] (F64 narrowed by RNE)",
         [(F + "a1111_bf16.pt", None), (F + "a1111_f64.pt", None)], "blend", [0.5, 0.5])
    case("blend_1d_view_and_2", "blend 0.5/0.5 of a 1-D diffusers row view (one vector) and a diffusers [2,768]",
         [(F + "diffusers_row_view.bin", None), (F + "learned_embeds.bin", None)], "blend", [0.5, 0.5])
    case("blend_then_norm", "blend 0.5/0.5 of two [8,768], then every vector to L2 norm 0.4",
         [(F + "kohya_f32.safetensors", None), (F + "kohya_b.safetensors", None)], "blend", [0.5, 0.5], norm=0.4)
    case("concat_two", "concat of A1111 [2,768] and kohya [6,768]: 8 vectors",
         [(F + "a1111_f32.pt", None), (F + "kohya_6.pt", None)], "concat")
    case("concat_slices", "concat of kohya_f32[:3], a1111_f32[-1:] and kohya_b[3]: 5 vectors",
         [(F + "kohya_f32.safetensors", "[:3]"), (F + "a1111_f32.pt", "[-1:]"), (F + "kohya_b.safetensors", "[3]")],
         "concat")
    case("slice_2_5", "one input, slice [2:5]: vectors 2,3,4",
         [(F + "kohya_f32.safetensors", "[2:5]")], "concat")
    case("slice_last_2", "one input, slice [-2:]: the last two vectors of a [6,768]",
         [(F + "kohya_6.pt", "[-2:]")], "concat")
    case("slice_index_3", "one input, index [3]: one vector, kept 2-D [1,768]",
         [(F + "kohya_b.safetensors", "[3]")], "concat")
    case("scale_0_7", "one input scaled by 0.7",
         [(F + "kohya_f32.safetensors", None)], "concat", scale=0.7)
    case("scale_transposed", "a transposed (stride (1,3)) [3,768] input scaled by 0.7: views must be materialised",
         [(F + "transposed.pt", None)], "concat", scale=0.7)
    case("norm_0_4_zero_row", "every vector to L2 norm 0.4; vector 1 is all zeros and stays zero",
         [(F + "zero_vector.safetensors", None)], "concat", norm=0.4)
    case("sdxl_blend", "SDXL blend 0.3/0.7 of a F32 and a F16 file: clip_l with clip_l, clip_g with clip_g",
         [(F + "sdxl.safetensors", None), (F + "sdxl_b_f16.safetensors", None)], "blend", [0.3, 0.7])
    case("sdxl_concat_slices", "SDXL concat of sdxl.pt[1:3] and sdxl_b_f16[:1]: 3 vectors per encoder",
         [(F + "sdxl.pt", "[1:3]"), (F + "sdxl_b_f16.safetensors", "[:1]")], "concat")
    C = CORPUS
    case("corpus_blend_easyneg_handneg", "real files: EasyNegative.safetensors and negative_hand-neg.pt, 0.5/0.5",
         [(C + "EasyNegative.safetensors", None), (C + "negative_hand-neg.pt", None)], "blend", [0.5, 0.5], corpus=True)
    case("corpus_concat_fastneg_easyneg", "real files: FastNegativeV2.pt[50:51] then EasyNegative.safetensors[:4]",
         [(C + "FastNegativeV2.pt", "[50:51]"), (C + "EasyNegative.safetensors", "[:4]")], "concat", corpus=True)
    case("corpus_sdxl_blend", "real SDXL files: SDXL-Detail.safetensors [2] and zPDXLrl.pt[:2], 0.5/0.5, norm 0.5",
         [(C + "SDXL-Detail.safetensors", None), (C + "zPDXLrl.pt", "[:2]")], "blend", [0.5, 0.5], norm=0.5,
         corpus=True)

    E.write_jsonl(os.path.join(OUT, "expected.jsonl"), RECORDS)
    print("%d merge cases, %d bytes" % (len(RECORDS), os.path.getsize(os.path.join(OUT, "expected.jsonl"))))


if __name__ == "__main__":
    main()
