// npm run bench -- rl [--quick]
// The Flow-GRPO kernels on this machine, GB/s of the bytes each reads and writes (timed natively,
// median of the repetitions), beside a memory copy (TypedArray.set) moving the same bytes:
//   grpo_loss        one trained timestep of 24 rollouts x 4096 tokens x 16 channels (v, x, x_next
//                    read, dv written: 16 bytes per element; with the KL term 20)
//   grpo_advantages  24 groups of 24 rewards (tiny: the figure is the call's latency)
import { Tensor } from '../src/native/tensor.js';
import { timeCall } from '../src/ops/registry.js';
import { Rng } from '../src/world/rng.js';
import { type BenchOptions, type BenchRow, copyGBs, median, ratioHigher } from './types.js';

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const B = 24;
  const rowsPer = opts.quick ? 1024 : 4096;
  const C = 16;
  const N = B * rowsPer;
  const n = N * C;
  const reps = opts.quick ? 5 : 20;
  const r = new Rng(1);
  const rand = (len: number, scale = 1) => Float32Array.from({ length: len }, () => scale * r.gaussian());
  const t = (data: Float32Array, shape: number[]) => Tensor.from(data, shape, { device: 'cpu' });
  using v = t(rand(n), [N, C]);
  using x = t(rand(n), [N, C]);
  using xn = t(rand(n), [N, C]);
  using mref = t(rand(n), [N, C]);
  using dv = Tensor.zeros([N, C], { device: 'cpu' });
  using off = Tensor.from(Int32Array.from({ length: B + 1 }, (_, i) => i * rowsPer), [B + 1], { device: 'cpu' });
  using sig = t(new Float32Array(B).fill(0.9), [B]);
  using sigN = t(new Float32Array(B).fill(0.8), [B]);
  using lpo = t(new Float32Array(B).fill(-1.3), [B]);
  using adv = t(rand(B), [B]);
  using logp = Tensor.zeros([B], { device: 'cpu' });
  using stats = Tensor.zeros([5], { device: 'cpu' });
  using rewards = t(rand(B * B), [B * B]);
  using groups = Tensor.from(Int32Array.from({ length: B * B }, (_, i) => Math.floor(i / B)), [B * B], { device: 'cpu' });
  using advOut = Tensor.zeros([B * B], { device: 'cpu' });
  using flags = Tensor.zeros([B * B], { dtype: 'i32', device: 'cpu' });
  using astats = Tensor.zeros([4], { device: 'cpu' });
  const loss = (beta: number) => ({ tensors: [v, x, xn, mref, off, sig, sigN, lpo, adv, dv, logp, stats], ints: [1], floats: [0.7, 0.9, 1e-4, beta] });
  const cases = [
    { name: `grpo_loss sde, ${B} x ${rowsPer} x ${C}`, op: 'grpo_loss', call: loss(0), bytes: n * 16 },
    { name: `grpo_loss sde with KL, ${B} x ${rowsPer} x ${C}`, op: 'grpo_loss', call: loss(0.04), bytes: n * 20 },
    { name: `grpo_advantages, ${B} groups of ${B}`, op: 'grpo_advantages', call: { tensors: [rewards, groups, advOut, flags, astats], ints: [B, 0], floats: [1e-4, 5, 0] }, bytes: B * B * 16 },
  ];
  return cases.map((c) => {
    timeCall(c.op, c.call, 3);
    const ms = median(timeCall(c.op, c.call, reps));
    const ours = c.bytes / (ms * 1e6);
    const peer = copyGBs(Math.max(c.bytes, 64), reps);
    return { name: c.name, ours, peer, unit: 'GB/s', ratio: ratioHigher(ours, peer), note: `peer: memory copy of the same bytes; ${ms.toFixed(3)} ms per call` };
  });
}
