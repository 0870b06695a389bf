// npm run bench -- sampler [--quick] [--group=N] [--steps=N]
// The batched sampler (src/sample/batch.ts) and the sampler ops, on this machine.
//   rollouts  a group of --group (default 12) rollouts of one prompt (a 32x32 world edit, its Meta-CoT
//             given), --steps (default 10) steps with CFG, SDE steps in a window of 2 of the first 5,
//             denoised as one batch: images/s; the peer is the same --group edits one by one through
//             editImage (the one-sample path: its own prefill and three passes per step), images/s,
//             on the same model (the `tiny` preset, random weights) from the same run.
//   ops       flow_step (sde), flow_noise and cfg_combine over 12 x 4096 tokens x 16 channels, GB/s of
//             the bytes each reads and writes (timed natively, median of the repetitions); the peer is
//             a memory copy (TypedArray.set) moving the same bytes (half read, half written).
import { sampleContext } from '../src/data/samples.js';
import { buildWorldTokenizer } from '../src/data/vocab.js';
import { preset } from '../src/model/config.js';
import { MotModel } from '../src/model/model.js';
import { Tensor } from '../src/native/tensor.js';
import { timeCall } from '../src/ops/registry.js';
import { cotForEdit } from '../src/cot/build.js';
import { type BatchEditRequest, sampleBatch } from '../src/sample/batch.js';
import { editImage } from '../src/sample/edit.js';
import { renderScene } from '../src/world/render.js';
import { generateEdit } from '../src/world/sample.js';
import { Rng } from '../src/world/rng.js';
import { type BenchOptions, type BenchRow, copyGBs, intArg, median, ratioHigher, timeMs } from './types.js';

async function rollouts(opts: BenchOptions): Promise<BenchRow[]> {
  const G = intArg('sampler', opts.args, 'group', 12);
  const steps = intArg('sampler', opts.args, 'steps', 10);
  const tok = buildWorldTokenizer();
  const cfg = preset('tiny', { vocab: Math.ceil(tok.size / 64) * 64 });
  using model = MotModel.create(cfg, { seed: 1, grads: false });
  const ctx = sampleContext(cfg, tok);
  const { edit } = generateEdit('color_alter', 3);
  const source = renderScene(edit.source).image;
  const cot = cotForEdit(edit, 'meta');
  const common = { steps, timestepShift: 3, cfgText: 4, cfgImg: 2, cfgInterval: [0, 1] as [number, number], renorm: 'text_channel' as const, renormMin: 0, seed: 1 };
  const reqs: BatchEditRequest[] = Array.from({ length: G }, (_, k) => ({ source, instruction: edit.instruction, cot, key: k }));
  const reps = opts.quick ? 1 : 3;
  const batched = await timeMs(() => sampleBatch(model, ctx, reqs, { ...common, sde: { start: 0, size: 2, mode: 'sde', noiseLevel: 0.7 }, record: true }), reps, 1);
  const single = await timeMs(async () => {
    for (let k = 0; k < G; k++) await editImage(model, ctx, source, edit.instruction, { ...common, think: true, cot, seed: k });
  }, reps, 1);
  const ours = (G * 1000) / batched;
  const peer = (G * 1000) / single;
  return [{ name: `rollouts: group of ${G}, ${steps} steps, CFG`, ours, peer, unit: 'images/s', ratio: ratioHigher(ours, peer), note: 'peer: the same edits one by one (editImage)' }];
}

function ops(opts: BenchOptions): BenchRow[] {
  const S = 12;
  const rowsPer = opts.quick ? 1024 : 4096;
  const C = 16;
  const N = S * rowsPer;
  const n = N * C;
  const reps = opts.quick ? 5 : 20;
  const rand = (seed: number) => {
    const r = new Rng(seed);
    return Float32Array.from({ length: n }, () => r.gaussian());
  };
  const t = (data: Float32Array) => Tensor.from(data, [N, C], { device: 'cpu' });
  using x = t(rand(1));
  using v = t(rand(2));
  using eps = t(rand(3));
  using xn = t(new Float32Array(n));
  using mean = t(new Float32Array(n));
  using vt = t(rand(4));
  using vi = t(rand(5));
  const off = Int32Array.from({ length: S + 1 }, (_, i) => i * rowsPer);
  using offT = Tensor.from(off, [S + 1], { device: 'cpu' });
  using keys = Tensor.from(Int32Array.from({ length: S }, (_, i) => i), [S], { device: 'cpu' });
  using sig = Tensor.from(new Float32Array(S).fill(0.9), [S], { device: 'cpu' });
  using sigN = Tensor.from(new Float32Array(S).fill(0.8), [S], { device: 'cpu' });
  using std = Tensor.zeros([S], { device: 'cpu' });
  using logp = Tensor.zeros([S], { device: 'cpu' });
  const cases: { name: string; op: string; tensors: Tensor[]; ints: number[]; floats: number[]; bytes: number }[] = [
    { name: 'flow_step sde', op: 'flow_step', tensors: [x, v, eps, xn, mean, offT, sig, sigN, std, logp], ints: [1, 0], floats: [0.7, 0.9], bytes: n * 20 },
    { name: 'flow_step sde logpOnly', op: 'flow_step', tensors: [x, v, eps, xn, mean, offT, sig, sigN, std, logp], ints: [1, 1], floats: [0.7, 0.9], bytes: n * 16 },
    { name: 'flow_noise', op: 'flow_noise', tensors: [eps, offT, keys], ints: [5, 1], floats: [], bytes: n * 4 },
    { name: 'cfg_combine text_channel', op: 'cfg_combine', tensors: [v, vt, vi, mean], ints: [2], floats: [4, 2, 0], bytes: n * 16 },
  ];
  return cases.map((c) => {
    timeCall(c.op, c, 3);
    const ms = median(timeCall(c.op, c, reps));
    const ours = c.bytes / (ms * 1e6);
    const peer = copyGBs(c.bytes, reps);
    return { name: `${c.name}, ${S} x ${rowsPer} x ${C}`, ours, peer, unit: 'GB/s', ratio: ratioHigher(ours, peer), note: 'peer: memory copy of the same bytes' };
  });
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  return [...(await rollouts(opts)), ...ops(opts)];
}
