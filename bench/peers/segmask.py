"""The packed-segment attention mask (DESIGN.md section 2, the rules of test/ref/attention.ts) for the
PyTorch peers: bench/peers/attention_torch.py, bench/peers/mot_torch.py and bench/gpu/peers/torch_gpu.py.
Tensors are created on torch's default device."""
import torch


def segment_of(seg, n):
    """per token its segment index; per segment its mode and sample (long tensors)"""
    sid = torch.empty(n, dtype=torch.long)
    for s, (a, b, _mode, _sample) in enumerate(seg):
        sid[a:b] = s
    mode = torch.tensor([r[2] for r in seg], dtype=torch.long)
    sample = torch.tensor([r[3] for r in seg], dtype=torch.long)
    return sid, mode, sample


def visible(qi, kj, sid, mode, sample):
    """token qi may attend to token kj (broadcasting index tensors): same sample, and its own segment
    (causal: kj <= qi) or an earlier segment that is not noise"""
    si, sj = sid[qi], sid[kj]
    same_seg = si == sj
    causal_ok = (mode[si] != 0) | (kj <= qi)
    earlier_ok = (sj < si) & (mode[sj] != 2)
    return (sample[si] == sample[sj]) & ((same_seg & causal_ok) | earlier_ok)


def build_mask(seg, n):
    """mask[i, j] = token i may attend to token j (bool [n, n])"""
    sid, mode, sample = segment_of(seg, n)
    idx = torch.arange(n)
    return visible(idx[:, None], idx[None, :], sid, mode, sample)
