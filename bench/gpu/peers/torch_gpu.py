#!/usr/bin/env python3
"""PyTorch's side of the GPU benchmarks (bench/gpu/check.sh): the same problems as bench/gpu/ops.ts,
read from bench/gpu/shapes.json, timed with CUDA events (median of repeats after warm-up), written as
JSON for ops.ts to put beside our figures.

  copy      device-to-device copy bandwidth (bytes read + written): the ceiling for the sampler ops
  gemm      torch.matmul in bf16 (tensor cores, fp32 accumulation): our bar is >= 0.8x
  attention our packed-segment mask as PyTorch's best masked paths: SDPA with a boolean mask (GQA via
            enable_gqa) and flex_attention with a block mask (torch.compile); the best of them is the
            peer (bar >= 1.0x). Causal flash SDPA without our mask is printed for context only.
"""
import json
import math
import os
import sys
import time
import traceback

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "peers"))
from segmask import build_mask, segment_of, visible  # noqa: E402

torch.backends.cuda.matmul.allow_tf32 = False
dev = torch.device("cuda")


def timed(fn, reps=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    for a, b in ev:
        a.record()
        fn()
        b.record()
    torch.cuda.synchronize()
    ms = sorted(a.elapsed_time(b) for a, b in ev)
    return ms[len(ms) // 2]


def segment_lengths(N, segments):
    lens = [int(math.floor(f * N)) for f, _ in segments[:-1]]
    lens.append(N - sum(lens))
    return lens


def segment_mask(N, segments):
    """bool [N, N], True = may attend (bench/peers/segmask.py), and the per-token segment ids / per-segment
    modes and samples that flex_attention's mask_mod indexes; one sample."""
    lens = segment_lengths(N, segments)
    seg, s = [], 0
    for l, (_, mode) in zip(lens, segments):
        seg.append([s, s + l, mode, 0])
        s += l
    sid, mode, sample = (t.to(dev) for t in segment_of(seg, N))
    return build_mask(seg, N).to(dev), sid, mode, sample


def visible_pairs(mask):
    return int(mask.sum().item())


def bench_copy(out, shapes):
    n = 4 * shapes["sampler"]["elements"]
    x = torch.randn(n, device=dev)
    y = torch.empty_like(x)
    ms = timed(lambda: y.copy_(x))
    out["copy"] = {"ms": ms, "GBps": 2 * 4 * n / ms / 1e6, "bytes": 2 * 4 * n}
    print(f"copy: {out['copy']['GBps']:.0f} GB/s", flush=True)


def bench_gemm(out, shapes):
    out["gemm"] = {}
    for name, ta, tb, M, N, K in shapes["gemm"]:
        try:
            sets = []
            for _ in range(2):  # rotate two input sets: 4096^3 bf16 operands are 32 MB each, under L2 twice over
                A = torch.randn((K, M) if ta else (M, K), device=dev, dtype=torch.bfloat16)
                B = torch.randn((N, K) if tb else (K, N), device=dev, dtype=torch.bfloat16)
                sets.append((A.t() if ta else A, B.t() if tb else B))
            i = [0]

            def run():
                a, b = sets[i[0] & 1]
                i[0] += 1
                return torch.matmul(a, b)

            ms = timed(run)
            out["gemm"][name] = {"ms": ms, "TFLOPs": 2 * M * N * K / ms / 1e9}
            print(f"gemm {name}: {ms:.3f} ms, {out['gemm'][name]['TFLOPs']:.0f} TFLOP/s", flush=True)
        except Exception as e:  # one failing shape must not end the others
            out["gemm"][name] = {"error": repr(e)}
            traceback.print_exc()


def bench_attention(out, shapes, save=lambda: None):
    import torch.nn.functional as F

    out["attention"] = {}
    for a in shapes["attention"]:
        name, N, H, Hkv, hd = a["name"], a["N"], a["H"], a["Hkv"], a["hd"]
        res = {}
        out["attention"][name] = res
        try:
            mask, sid, mode, sample = segment_mask(N, a["segments"])
            res["visible_pairs_per_head"] = visible_pairs(mask)
            q = torch.randn(1, H, N, hd, device=dev, dtype=torch.bfloat16, requires_grad=True)
            k = torch.randn(1, Hkv, N, hd, device=dev, dtype=torch.bfloat16, requires_grad=True)
            v = torch.randn(1, Hkv, N, hd, device=dev, dtype=torch.bfloat16, requires_grad=True)
            do = torch.randn(1, H, N, hd, device=dev, dtype=torch.bfloat16)
            scale = 1 / math.sqrt(hd)

            def both(f):
                def fb():
                    o = f()
                    o.backward(do)

                return fb

            variants = {}
            sdpa_mask = lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale, enable_gqa=True)
            variants["sdpa bool mask"] = sdpa_mask
            try:
                from torch.nn.attention.flex_attention import create_block_mask, flex_attention

                def mask_mod(b, h, qi, kj):
                    return visible(qi, kj, sid, mode, sample)

                bm = create_block_mask(mask_mod, None, None, N, N, device="cuda")
                flex = torch.compile(flex_attention)
                variants["flex_attention block mask"] = lambda: flex(q, k, v, block_mask=bm, scale=scale, enable_gqa=True)
            except Exception as e:
                res["flex_error"] = repr(e)
                traceback.print_exc()
            for vname, f in variants.items():
                try:
                    t0 = time.time()
                    fwd = timed(f, reps=10)
                    fb = timed(both(f), reps=10)
                    res[vname] = {"fwd_ms": fwd, "fwdbwd_ms": fb, "setup_s": time.time() - t0}
                    print(f"attention {name} {vname}: fwd {fwd:.3f} ms, fwd+bwd {fb:.3f} ms", flush=True)
                except Exception as e:
                    res[vname] = {"error": repr(e)}
                    traceback.print_exc()
            # context only: causal flash attention on the same sizes, without our mask (not the same function)
            try:
                cf = lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale, enable_gqa=True)
                res["context: causal flash, no segment mask"] = {"fwd_ms": timed(cf, reps=10), "fwdbwd_ms": timed(both(cf), reps=10)}
            except Exception as e:
                res["context: causal flash, no segment mask"] = {"error": repr(e)}
            best = [(r["fwdbwd_ms"], n) for n, r in res.items() if isinstance(r, dict) and "fwdbwd_ms" in r and not n.startswith("context")]
            if best:
                ms, n = min(best)
                res["best"] = {"variant": n, "fwdbwd_ms": ms, "fwd_ms": res[n]["fwd_ms"]}
        except Exception as e:
            res["error"] = repr(e)
            traceback.print_exc()
        save()  # after each shape: a timeout still leaves the shapes that ran


def main():
    shapes_path, out_path = sys.argv[1], sys.argv[2]
    shapes = json.load(open(shapes_path))
    out = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
    }
    print(f"peer: torch {torch.__version__} on {out['device']}", flush=True)
    save = lambda: json.dump(out, open(out_path, "w"), indent=1)
    for part in (bench_copy, bench_gemm, bench_attention):
        try:
            part(out, shapes, save) if part is bench_attention else part(out, shapes)
        except Exception as e:
            out[part.__name__ + "_error"] = repr(e)
            traceback.print_exc()
        json.dump(out, open(out_path, "w"), indent=1)  # after each part: a timeout still leaves what ran


if __name__ == "__main__":
    main()
