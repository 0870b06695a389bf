#!/usr/bin/python3
"""PyTorch CPU peer for `npm run bench -- attention`: the same packed-segment attention (DESIGN.md
section 2) as metacot's attention_forward / attention_backward, as a dense boolean mask fed to
PyTorch's scaled-dot-product attention (torch 1.13: F._scaled_dot_product_attention, torch >= 2:
F.scaled_dot_product_attention) and, for comparison, the plain masked_fill + softmax math path; the
faster of the two is the peer figure. Times are the minimum over --reps calls, in ms.

Inputs come from the caller so both sides see the same numbers:
  --inputs FILE   float32 little-endian q[N,H,hd] k[N,Hkv,hd] v[N,Hkv,hd] dout[N,H,hd], concatenated
  --seg JSON      the segment table [[start, end, mode, sample], ...] (mode 0 causal, 1 full, 2 noise)
  --outputs FILE  written: float32 out[N,H,hd] dq[N,H,hd] dk[N,Hkv,hd] dv[N,Hkv,hd] (from the SDPA path)
GQA: k and v are repeat_interleave'd to H heads (head h reads kv head h // (H/Hkv)); autograd sums
the group's gradients back. Timed per path: fwd (no_grad), fwd+bwd (forward with autograd, then
backward of dout), bwd (backward alone, replayed on one retained graph). Prints one JSON object.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F

from segmask import build_mask


def sdpa_fn():
    if hasattr(F, "scaled_dot_product_attention"):
        return "F.scaled_dot_product_attention", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    if hasattr(F, "_scaled_dot_product_attention"):
        return "F._scaled_dot_product_attention", lambda q, k, v, m: F._scaled_dot_product_attention(q, k, v, attn_mask=m)[0]
    return None, None


def math_path(q, k, v, m):
    s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    s = s.masked_fill(~m, float("-inf"))
    return torch.matmul(torch.softmax(s, dim=-1), v)


def min_ms(fn, reps, warmup):
    """Fastest of reps timed calls after warm-up (the machines are shared: the minimum is the figure
    least disturbed by other load; the caller uses the same statistic for its own side)."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--h", type=int, required=True)
    ap.add_argument("--hkv", type=int, required=True)
    ap.add_argument("--hd", type=int, required=True)
    ap.add_argument("--scale", type=float, default=None)
    ap.add_argument("--seg", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--outputs", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    n, h, hkv, hd = a.n, a.h, a.hkv, a.hd
    seg = json.loads(a.seg)
    group = h // hkv
    raw = torch.from_numpy(__import__("numpy").fromfile(a.inputs, dtype="<f4"))
    sizes = [n * h * hd, n * hkv * hd, n * hkv * hd, n * h * hd]
    if raw.numel() != sum(sizes):
        sys.exit(f"attention_torch: {a.inputs} holds {raw.numel()} floats, expected {sum(sizes)}")
    q0, k0, v0, do0 = torch.split(raw, sizes)
    # [N, H, hd] -> [1, H, N, hd]
    to_bhnd = lambda x, heads: x.reshape(n, heads, hd).permute(1, 0, 2).unsqueeze(0).contiguous()
    q, k, v, dout = to_bhnd(q0, h), to_bhnd(k0, hkv), to_bhnd(v0, hkv), to_bhnd(do0, h)
    scale = a.scale if a.scale is not None else 1.0 / math.sqrt(hd)
    # both paths scale by 1/sqrt(hd); fold a different scale into q
    qfix = scale * math.sqrt(hd)
    mask = build_mask(seg, n)

    name, sdpa = sdpa_fn()
    paths = {}
    if sdpa is not None:
        paths["sdpa"] = sdpa
    paths["math"] = math_path

    def forward(fn, qq, kk, vv):
        qs = qq * qfix if qfix != 1.0 else qq
        return fn(qs, kk.repeat_interleave(group, dim=1), vv.repeat_interleave(group, dim=1), mask)

    result = {
        "peer": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "sdpa": name,
        "visible_fraction": mask.float().mean().item(),
        "paths": {},
    }
    grads = None
    for pname, fn in paths.items():
        def run_fwd():
            with torch.no_grad():
                forward(fn, q, k, v)

        qg, kg, vg = (t.clone().requires_grad_(True) for t in (q, k, v))

        def run_fwdbwd():
            for t in (qg, kg, vg):
                t.grad = None
            o = forward(fn, qg, kg, vg)
            o.backward(dout)
            return o

        # backward alone: one recorded graph, backward replayed (retain_graph keeps its buffers)
        for t in (qg, kg, vg):
            t.grad = None
        graph_out = forward(fn, qg, kg, vg)

        def run_bwd():
            for t in (qg, kg, vg):
                t.grad = None
            graph_out.backward(dout, retain_graph=True)

        fwd = min_ms(run_fwd, a.reps, a.warmup)
        fb = min_ms(run_fwdbwd, a.reps, a.warmup)
        bwd = min_ms(run_bwd, a.reps, a.warmup)
        del graph_out
        result["paths"][pname] = {"fwd_ms": fwd, "fwdbwd_ms": fb, "bwd_ms": bwd}
        if grads is None:
            o = run_fwdbwd()
            grads = [o.detach(), qg.grad, kg.grad, vg.grad]
    best = lambda key: min(result["paths"].items(), key=lambda kv: kv[1][key])
    for key in ("fwd", "fwdbwd", "bwd"):
        name, times = best(key + "_ms")
        result[key + "_ms"], result[key + "_path"] = times[key + "_ms"], name
    if a.outputs:
        # back to [N, heads, hd]
        flat = [g[0].permute(1, 0, 2).contiguous().reshape(-1) for g in grads]
        torch.cat(flat).numpy().astype("<f4").tofile(a.outputs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
