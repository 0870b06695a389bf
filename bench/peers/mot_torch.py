#!/usr/bin/python3
"""PyTorch CPU peer for `npm run bench -- block`: the same BAGEL Mixture-of-Transformers (DESIGN.md
section 2) as metacot's native model (native/model/mot.cc, float64 twin in test/ref/mot.ts), written
plainly with torch ops, forward + loss + autograd backward, timed on the same weights and packed batch.

Inputs (written by bench/block.ts into one directory):
  manifest.json  {"config": {...}, "wCe", "wMse", "params": [{"name", "shape", "offset"}],
                  "batch": {field: {"dtype": "f32"|"i32", "shape", "offset"}}}
                 offsets count elements (4 bytes each) into params.bin / batch.bin
  params.bin     float32 little-endian, the parameters in the native layout order
  batch.bin      the packed batch fields (ids, kind, expert, pos, seg, vitPatches, vitPos, latents,
                 latentPos, latentT, ceTargets, mseTarget, mseMask), little-endian
Outputs: grads.bin (float32 gradients of every parameter, same order and offsets as params.bin, from
one forward+backward on fresh gradients) and JSON on stdout: the losses, then either (standalone)
timings in ms (median and min of --reps iterations after --warmup) per routing variant with the
fastest as the peer figure, or (--serve, what bench/block.ts uses) one JSON line of per-iteration
fwd / bwd / total ms for each `time VARIANT N [W]` line read on stdin, so the caller can interleave its
own iterations with the peer's and both see the same load on a shared machine.

Model, per DESIGN.md section 2 (the mask, RoPE and heads follow test/ref/mot.ts exactly):
  text x = embed[ids]; ViT x = fc2(silu(fc1(patch_embed(p) + pos2d))); latent x = vae2llm(x) +
  fc2(silu(fc1([cos(t f), sin(t f)]))) + pos2d; per layer and expert: input RMSNorm -> q/k/v (bias) ->
  q/k RMSNorm over head_dim -> RoPE rotate-half -> one joint SDPA over all tokens with the boolean
  segment mask (GQA by repeat_interleave) -> o -> residual -> post RMSNorm -> down(silu(gate) * up) ->
  residual; final RMSNorm per expert; logits = fin @ embed^T (tied) or lm_head at CE rows, mean CE;
  velocity = llm2vae(fin) at noisy rows, MSE = mean over masked tokens of mean over channels.
  loss = wCe * CE + wMse * MSE.

Variants (all exact; the fastest is the peer figure), --variants:
  index    BAGEL's way: hidden states in sequence order, each expert's rows taken with an index
           gather and put back with a scatter every layer.
  grouped  the sequence is permuted once so each expert's tokens are one contiguous slice (the mask and
           RoPE positions permuted to match); per layer only slices and one cat.
  X/sample routing X, and the joint attention run per packed sample (samples never see each other, so
           it is block-diagonal): one SDPA per sample with its mask block instead of one dense SDPA
           over the whole pack (about 1/samples of the attention FLOPs and memory).
GQA: k/v expanded to the query heads with expand + reshape (HF's repeat_kv).
The boolean mask, position tables and index tensors are built once, outside the timed region (a data
loader would); everything from the embeddings to the gradients is timed.

On a GPU (bench/gpu/check.sh): --device cuda puts the weights, the batch and every tensor built from it
on the device (fp32 weights), --bf16 runs the forward under torch.autocast(bfloat16) (matmuls and SDPA
in bf16 with fp32 accumulation, as ours), --compile wraps the forward in torch.compile; timings then
synchronise the device before each clock read.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from segmask import build_mask


def pos_table(side, d):
    """2-D sin-cos table [side*side, d]: [sin(c w), cos(c w), sin(r w), cos(r w)], w_k = 10000^(-k/(d/4))."""
    q = d // 4
    w = 10000.0 ** (-torch.arange(q, dtype=torch.float64) / q)
    r = torch.arange(side, dtype=torch.float64)[:, None, None]
    c = torch.arange(side, dtype=torch.float64)[None, :, None]
    t = torch.cat([torch.sin(c * w).expand(side, side, q), torch.cos(c * w).expand(side, side, q),
                   torch.sin(r * w).expand(side, side, q), torch.cos(r * w).expand(side, side, q)], dim=-1)
    return t.reshape(side * side, d).float()


def sdpa_fn():
    if hasattr(F, "scaled_dot_product_attention"):
        return "F.scaled_dot_product_attention", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    if hasattr(F, "_scaled_dot_product_attention"):
        return "F._scaled_dot_product_attention", lambda q, k, v, m: F._scaled_dot_product_attention(q, k, v, attn_mask=m)[0]

    def math_path(q, k, v, m):
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
        return torch.matmul(torch.softmax(s.masked_fill(~m, float("-inf")), dim=-1), v)
    return "masked_fill+softmax", math_path


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Mot:
    """The MoT forward as plain torch ops over a dict of leaf parameters."""

    def __init__(self, cfg, params, batch, w_ce, w_mse, variant):
        self.c = cfg
        self.p = params
        self.w_ce, self.w_mse = w_ce, w_mse
        routing, _, attn = variant.partition("/")
        assert routing in ("grouped", "index") and attn in ("", "sample"), variant
        self.routing = routing
        self.attn_name, self.attn = sdpa_fn()
        D, hd = cfg["hidden"], cfg["headDim"]
        kind, expert = batch["kind"].long(), batch["expert"].long()
        n = kind.numel()
        self.N = n
        self.text_idx = torch.nonzero(kind == 0).flatten()
        self.vit_idx = torch.nonzero(kind == 1).flatten()
        self.lat_idx = torch.nonzero(kind >= 2).flatten()
        self.text_ids = batch["ids"].long()[self.text_idx]
        self.vit_patches = batch["vitPatches"].reshape(-1, cfg["vitPatchDim"])
        self.latents = batch["latents"].reshape(-1, cfg["latentChannels"])
        self.latent_t = batch["latentT"]
        table = pos_table(cfg["maxLatentSide"], D)
        self.vit_pos2d = table[batch["vitPos"].long()]
        self.lat_pos2d = table[batch["latentPos"].long()]
        half_t = cfg["timestepDim"] // 2
        self.t_freqs = torch.exp(-math.log(10000.0) * torch.arange(half_t, dtype=torch.float32) / half_t)
        # sequence order of the input embeddings: x_seq = cat(text, vit, lat)[embed_inv]
        emb_order = torch.cat([self.text_idx, self.vit_idx, self.lat_idx])
        self.embed_inv = torch.argsort(emb_order)
        self.rows = [torch.nonzero(expert == e).flatten() for e in (0, 1)]
        self.n_e = [int(r.numel()) for r in self.rows]
        perm = torch.cat(self.rows)          # grouped position -> sequence index
        self.inv_perm = torch.argsort(perm)  # sequence index -> grouped position
        seg = batch["seg"].reshape(-1, 4).tolist()
        mask = build_mask(seg, n)
        self.perm = perm
        # attention per sample: packed samples never see each other, so the joint attention is
        # block-diagonal by sample; "/sample" runs one SDPA per sample (a contiguous range in sequence
        # order) with that sample's mask block, instead of one dense SDPA over the whole pack
        self.attn_ranges = None
        if attn == "sample":
            ranges = []
            for a, b, _m, smp in seg:
                if ranges and ranges[-1][2] == smp and ranges[-1][1] == a:
                    ranges[-1][1] = b
                else:
                    ranges.append([a, b, smp])
            if len({r[2] for r in ranges}) != len(ranges):
                raise SystemExit("mot_torch: /sample needs each sample's segments contiguous")
            self.attn_ranges = [(a, b, mask[a:b, a:b].contiguous()) for a, b, _ in ranges]
        pos = batch["pos"].double()
        if routing == "grouped":
            mask = mask[perm][:, perm]
            pos = pos[perm]
        self.mask = mask.contiguous()
        inv_freq = cfg["ropeTheta"] ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        ang = pos[:, None] * inv_freq[None, :]
        self.cos = torch.cat([ang.cos(), ang.cos()], dim=-1).float()[:, None, :]  # [N, 1, hd]
        self.sin = torch.cat([ang.sin(), ang.sin()], dim=-1).float()[:, None, :]
        # heads: CE rows and noisy rows, as indices into the routing's hidden-state order
        ce = batch.get("ceTargets")
        ce_rows = torch.nonzero(ce >= 0).flatten() if ce is not None else torch.zeros(0, dtype=torch.long)
        self.ce_targets = ce.long()[ce_rows] if ce is not None else None
        noisy_seq = torch.nonzero(kind == 3).flatten()
        lat_kind = kind[self.lat_idx]
        noisy_lat = torch.nonzero(lat_kind == 3).flatten()  # latent-table rows of noisy tokens
        C = cfg["latentChannels"]
        self.mse_target = batch["mseTarget"].reshape(-1, C)[noisy_lat] if "mseTarget" in batch else torch.zeros(len(noisy_lat), C)
        self.mse_mask = batch["mseMask"][noisy_lat] if "mseMask" in batch else torch.ones(len(noisy_lat))
        to_h = (lambda i: self.inv_perm[i]) if routing == "grouped" else (lambda i: i)
        self.ce_h, self.noisy_h = to_h(ce_rows), to_h(noisy_seq)

    def embed(self):
        c, p = self.c, self.p
        parts = [F.embedding(self.text_ids, p["embed.weight"])]
        if self.vit_idx.numel():
            pe = F.linear(self.vit_patches, p["vit.patch_embed.weight"], p["vit.patch_embed.bias"]) + self.vit_pos2d
            h1 = F.silu(F.linear(pe, p["vit.connector.fc1.weight"], p["vit.connector.fc1.bias"]))
            parts.append(F.linear(h1, p["vit.connector.fc2.weight"], p["vit.connector.fc2.bias"]))
        if self.lat_idx.numel():
            a = self.latent_t[:, None] * self.t_freqs[None, :]
            ts = torch.cat([torch.cos(a), torch.sin(a)], dim=-1)
            te = F.linear(F.silu(F.linear(ts, p["time_embedder.fc1.weight"], p["time_embedder.fc1.bias"])),
                          p["time_embedder.fc2.weight"], p["time_embedder.fc2.bias"])
            parts.append(F.linear(self.latents, p["vae2llm.weight"], p["vae2llm.bias"]) + te + self.lat_pos2d)
        x = torch.cat(parts)[self.embed_inv]  # sequence order
        if self.routing == "grouped":
            x = x[torch.cat(self.rows)]
        return x

    def split(self, x):
        """per-expert row blocks of a hidden-state tensor in the routing's order"""
        if self.routing == "grouped":
            return list(torch.split(x, self.n_e))
        return [x.index_select(0, r) for r in self.rows]

    def merge(self, parts):
        """inverse of split: per-expert row blocks back to the routing's order"""
        parts = [t for t, n in zip(parts, self.n_e) if n]
        y = torch.cat(parts)
        if self.routing == "grouped":
            return y
        return y[self.inv_perm]

    def layer(self, l, x):
        c, p = self.c, self.p
        H, Hkv, hd, eps = c["heads"], c["kvHeads"], c["headDim"], c["rmsEps"]
        N = self.N
        xs = self.split(x)
        qs, ks, vs = [], [], []
        for e, ex in enumerate(("und", "gen")):
            if not self.n_e[e]:
                qs.append(None); ks.append(None); vs.append(None)
                continue
            pre = f"layers.{l}.{ex}."
            a = rms_norm(xs[e], p[pre + "input_norm.weight"], eps)
            n = self.n_e[e]
            q = F.linear(a, p[pre + "q_proj.weight"], p[pre + "q_proj.bias"]).view(n, H, hd)
            k = F.linear(a, p[pre + "k_proj.weight"], p[pre + "k_proj.bias"]).view(n, Hkv, hd)
            v = F.linear(a, p[pre + "v_proj.weight"], p[pre + "v_proj.bias"]).view(n, Hkv, hd)
            qs.append(rms_norm(q, p[pre + "q_norm.weight"], eps))
            ks.append(rms_norm(k, p[pre + "k_norm.weight"], eps))
            vs.append(v)
        q, k, v = self.merge(qs), self.merge(ks), self.merge(vs)
        q = q * self.cos + rotate_half(q) * self.sin
        k = k * self.cos + rotate_half(k) * self.sin
        g = H // Hkv
        if self.attn_ranges is not None and self.routing == "grouped":
            q, k, v = q[self.inv_perm], k[self.inv_perm], v[self.inv_perm]  # to sequence order
        # [N, heads, hd] -> [1, heads, N, hd]
        qh = q.transpose(0, 1).unsqueeze(0)
        # GQA as HF's repeat_kv: expand + reshape (head h reads kv head h // g); repeat_interleave would
        # give the same values but its backward is a slow index_add_ on CPU
        kh = k[:, :, None, :].expand(N, Hkv, g, hd).reshape(N, H, hd).transpose(0, 1).unsqueeze(0)
        vh = v[:, :, None, :].expand(N, Hkv, g, hd).reshape(N, H, hd).transpose(0, 1).unsqueeze(0)
        if self.attn_ranges is None:
            o = self.attn(qh, kh, vh, self.mask)[0].transpose(0, 1).reshape(N, H * hd)
        else:
            outs = [self.attn(qh[:, :, a:b], kh[:, :, a:b], vh[:, :, a:b], m)[0] for a, b, m in self.attn_ranges]
            o = torch.cat(outs, dim=1).transpose(0, 1).reshape(N, H * hd)
            if self.routing == "grouped":
                o = o[self.perm]
        os_ = self.split(o)
        outs = []
        for e, ex in enumerate(("und", "gen")):
            if not self.n_e[e]:
                outs.append(None)
                continue
            pre = f"layers.{l}.{ex}."
            xm = xs[e] + F.linear(os_[e], p[pre + "o_proj.weight"])
            b = rms_norm(xm, p[pre + "post_norm.weight"], eps)
            h = F.silu(F.linear(b, p[pre + "mlp.gate_proj.weight"])) * F.linear(b, p[pre + "mlp.up_proj.weight"])
            outs.append(xm + F.linear(h, p[pre + "mlp.down_proj.weight"]))
        return self.merge(outs)

    def forward(self):
        c, p = self.c, self.p
        x = self.embed()
        for l in range(c["layers"]):
            x = self.layer(l, x)
        xs = self.split(x)
        fin = self.merge([rms_norm(xs[e], p[f"final_norm.{ex}.weight"], c["rmsEps"]) if self.n_e[e] else None
                          for e, ex in enumerate(("und", "gen"))])
        ce = torch.zeros(())
        if self.ce_targets is not None and self.ce_targets.numel():
            lm = p["embed.weight"] if c["tieEmbeddings"] else p["lm_head.weight"]
            logits = F.linear(fin[self.ce_h], lm)
            ce = F.cross_entropy(logits, self.ce_targets)
        mse = torch.zeros(())
        if self.noisy_h.numel():
            vel = F.linear(fin[self.noisy_h], p["llm2vae.weight"], p["llm2vae.bias"])
            m = self.mse_mask > 0
            k = int(m.sum())
            if k:
                per = (vel - self.mse_target).pow(2).mean(dim=1)
                mse = (per * m.float()).sum() / k
        loss = self.w_ce * ce + self.w_mse * mse
        return loss, ce, mse


def load(dirname):
    with open(os.path.join(dirname, "manifest.json")) as f:
        man = json.load(f)
    raw = np.fromfile(os.path.join(dirname, "params.bin"), dtype="<f4")
    params = {}
    for s in man["params"]:
        n = int(np.prod(s["shape"])) if s["shape"] else 1
        t = torch.from_numpy(raw[s["offset"]:s["offset"] + n].copy()).reshape(s["shape"])
        params[s["name"]] = t.requires_grad_(True)
    braw = np.fromfile(os.path.join(dirname, "batch.bin"), dtype="<u4")
    batch = {}
    for k, s in man["batch"].items():
        n = int(np.prod(s["shape"])) if s["shape"] else 0
        chunk = braw[s["offset"]:s["offset"] + n]
        arr = chunk.view("<f4") if s["dtype"] == "f32" else chunk.view("<i4")
        batch[k] = torch.from_numpy(arr.copy()).reshape(s["shape"])
    return man, params, batch


SYNC = lambda: None  # torch.cuda.synchronize on a GPU


def with_autocast(f, device):
    """f's ops under bf16 autocast (matmuls and attention in bf16, reductions kept in fp32 by torch)"""
    def g():
        with torch.autocast(device_type=device, dtype=torch.bfloat16):
            return f()
    return g
FORWARD = {}         # variant -> the (possibly autocast / compiled) forward


def time_iters(m, zero, n):
    """n training steps' worth of work: gradients reset (set to None), forward, backward; per-iteration
    fwd / bwd / total ms (total includes the reset)"""
    fwd, bwd, tot = [], [], []
    run = FORWARD.get(id(m), m.forward)
    for _ in range(n):
        SYNC()
        tz = time.perf_counter()
        zero()
        t0 = time.perf_counter()
        loss, _, _ = run()
        SYNC()
        t1 = time.perf_counter()
        loss.backward()
        SYNC()
        t2 = time.perf_counter()
        fwd.append((t1 - t0) * 1e3)
        bwd.append((t2 - t1) * 1e3)
        tot.append((t2 - tz) * 1e3)
    return {"fwd": fwd, "bwd": bwd, "tot": tot}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--variants", default="grouped,grouped/sample,index",
                    help="comma-separated: grouped | index routing, optionally /sample (attention per sample)")
    ap.add_argument("--serve", action="store_true",
                    help="after the agreement run, answer 'time VARIANT N [W]' lines on stdin (W untimed "
                         "iterations, then N timed ones, back to back) with one JSON line of per-iteration times "
                         "each (so the caller can interleave its own iterations), until 'quit'")
    ap.add_argument("--profile", action="store_true",
                    help="standalone: also print torch.profiler's per-op table (self CPU time) to stderr")
    ap.add_argument("--device", default="cpu", help="cpu | cuda")
    ap.add_argument("--bf16", action="store_true", help="forward under torch.autocast(bfloat16)")
    ap.add_argument("--compile", action="store_true", help="the forward through torch.compile")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    man, params, batch = load(a.dir)
    cfg = man["config"]
    if a.device != "cpu":
        global SYNC
        dev = torch.device(a.device)
        torch.set_default_device(dev)  # masks, tables and indices built from the batch land there too
        params = {k: v.detach().to(dev).requires_grad_(True) for k, v in params.items()}
        batch = {k: v.to(dev) for k, v in batch.items()}
        SYNC = torch.cuda.synchronize
    plist = [params[s["name"]] for s in man["params"]]

    def zero():
        for t in plist:
            t.grad = None

    routings = a.variants.split(",")
    models = {r: Mot(cfg, params, batch, man["wCe"], man["wMse"], r) for r in routings}
    for m in models.values():
        f = m.forward
        if a.bf16:
            f = with_autocast(f, a.device)
        if a.compile:
            f = torch.compile(f)
        FORWARD[id(m)] = f
    result = {"peer": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "attention": models[routings[0]].attn_name, "variants": routings, "device": a.device,
              "bf16": a.bf16, "compile": a.compile}

    def grads_flat():
        out = np.zeros(sum(int(np.prod(s["shape"])) for s in man["params"]), dtype="<f4")
        for s in man["params"]:
            g = params[s["name"]].grad
            if g is not None:
                out[s["offset"]:s["offset"] + g.numel()] = g.reshape(-1).float().cpu().numpy()
        return out

    # the agreement run: one forward+backward on fresh gradients, every gradient written out (from
    # the first variant); the other variants are checked against it here (loss, and the largest
    # per-tensor ||g - g0|| / ||g0||)
    ref = None
    result["variant_check"] = {}
    for r in routings:
        zero()
        loss, ce, mse = FORWARD[id(models[r])]()
        loss.backward()
        g = grads_flat()
        if ref is None:
            ref = g
            result.update(loss=loss.item(), ce=ce.item(), mse=mse.item())
            g.tofile(os.path.join(a.dir, "grads.bin"))
            continue
        worst = 0.0
        for s in man["params"]:
            n = int(np.prod(s["shape"]))
            a0 = ref[s["offset"]:s["offset"] + n].astype(np.float64)
            a1 = g[s["offset"]:s["offset"] + n].astype(np.float64)
            worst = max(worst, float(np.linalg.norm(a1 - a0) / max(np.linalg.norm(a0), 1e-30)))
        result["variant_check"][r] = {"loss": loss.item(), "grad_rel": worst}

    if a.serve:
        print(json.dumps(result), flush=True)
        for line in sys.stdin:
            cmd = line.split()
            if not cmd or cmd[0] == "quit":
                break
            if cmd[0] == "time" and len(cmd) in (3, 4) and cmd[1] in models:
                if len(cmd) == 4:
                    time_iters(models[cmd[1]], zero, int(cmd[3]))  # untimed warm-up, back to back
                print(json.dumps(time_iters(models[cmd[1]], zero, int(cmd[2]))), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {line.strip()!r}"}), flush=True)
        return

    med = lambda v: float(np.median(v))
    result["variants"] = {}
    for r in routings:
        time_iters(models[r], zero, a.warmup)
        t = time_iters(models[r], zero, a.reps)
        result["variants"][r] = {"fwd_ms": med(t["fwd"]), "bwd_ms": med(t["bwd"]), "fwdbwd_ms": med(t["tot"]),
                                 "fwdbwd_min_ms": min(t["tot"]), "fwdbwd_all_ms": t["tot"]}
    best = min(result["variants"].items(), key=lambda kv: kv[1]["fwdbwd_ms"])
    result["routing"] = best[0]
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            time_iters(models[best[0]], zero, max(1, a.reps))
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30), file=sys.stderr)
    result.update({k: best[1][k] for k in ("fwd_ms", "bwd_ms", "fwdbwd_ms", "fwdbwd_min_ms")})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
