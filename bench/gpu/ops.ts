// Our side of the one-shot GPU check (bench/gpu/check.sh), compiled to plain JS (bench/gpu/tsconfig.json)
// so that the GPU machine needs only a node binary, this JS and the built addon:
//   1. parity: every op with a CUDA kernel against the CPU backend (src/check/parity.ts), op-table
//      cases and the larger tiled ones, outputs poisoned, NaN-checked;
//   2. benchmarks on the shapes of bench/gpu/shapes.json, timed with CUDA events (timeOp), median of
//      repeats after warm-up, inputs from the device's Philox (never zeros), GEMM inputs rotated;
//   3. the table: our figure, PyTorch's (bench/gpu/peers/torch_gpu.py, same run, same card) and the
//      ratio, against the issue's bars. Full results go to --out as JSON.
//
//   node build/gpu-js/bench/gpu/ops.js --out DIR [--peer peer.json] [--shapes shapes.json] [--parity-only] [--no-parity]
//     [--parity-from ours.json]   (reuse the parity results of an earlier --parity-only run)
//   --cpu-dry-run: the benchmark code on the CPU backend with the shapes cut down (checks this script
//   here, before a GPU minute is spent on it; its figures mean nothing).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type ParityResult, checkParity, parityCases, relNorm } from '../../src/check/parity.js';
import type { HostBatch } from '../../src/model/batch.js';
import { type ModelConfig, preset } from '../../src/model/config.js';
import { MotModel } from '../../src/model/model.js';
import { buildBatch, editSample } from '../../src/model/synthetic-batch.js';
import { stepShapeOf, trainStepFlops } from '../../src/train/flops.js';
import { writeInputs } from '../block.js';
import { loadBackend } from '../../src/native/loader.js';
import { Tensor } from '../../src/native/tensor.js';
import { type OpCall, runCall, timeCall } from '../../src/ops/registry.js';

interface Shapes {
  gemm: [string, number, number, number, number, number][];
  attention: { name: string; N: number; H: number; Hkv: number; hd: number; segments: [number, number][] }[];
  sampler: { elements: number; cfgRows: number; cfgChannels: number };
}

const here = dirname(fileURLToPath(import.meta.url));

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string): boolean => process.argv.includes(name);

function writeJsonAtomic(path: string, value: unknown): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 1));
  renameSync(`${path}.tmp`, path);
}

const median = (a: ArrayLike<number>): number => {
  const s = Array.from(a).sort((x, y) => x - y);
  return s[s.length >> 1];
};

const dryRun = flag('--cpu-dry-run');
const device = dryRun ? 'cpu' : 'cuda';

let seed = 1;
function randn(shape: number[], std = 1): Tensor {
  const t = Tensor.zeros(shape, { device });
  runCall('randn', { tensors: [t], ints: [seed++, 0], floats: [0, std] });
  return t;
}

/** median ms of `reps` runs after `warmup`, alternating between the given calls (cache rotation) */
function timeRotating(op: string, calls: OpCall[], reps = 20, warmup = 3): number {
  for (let i = 0; i < warmup; i++) timeCall(op, calls[i % calls.length], 1);
  if (calls.length === 1) return median(timeCall(op, calls[0], reps));
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) ms.push(timeCall(op, calls[i % calls.length], 1)[0]);
  return median(ms);
}

function segmentRows(N: number, segs: [number, number][]): number[] {
  const lens = segs.slice(0, -1).map(([f]) => Math.floor(f * N));
  lens.push(N - lens.reduce((a, b) => a + b, 0));
  const rows: number[] = [];
  let s = 0;
  lens.forEach((l, i) => {
    rows.push(s, s + l, segs[i][1], 0);
    s += l;
  });
  return rows;
}

/** visible (query, key) pairs of one head under the segment rules (attention.h), one sample */
function visiblePairs(rows: number[]): number {
  let v = 0;
  for (let a = 0; a < rows.length; a += 4) {
    const len = rows[a + 1] - rows[a];
    const mode = rows[a + 2];
    v += mode === 0 ? (len * (len + 1)) / 2 : len * len;
    for (let b = 0; b < a; b += 4) if (rows[b + 2] !== 2) v += len * (rows[b + 1] - rows[b]);
  }
  return v;
}

function benchGemm(shapes: Shapes): Record<string, { ms: number; TFLOPs: number }> {
  const out: Record<string, { ms: number; TFLOPs: number }> = {};
  for (const [name, ta, tb, M, N, K] of shapes.gemm) {
    const sets: OpCall[] = [];
    for (let s = 0; s < 2; s++)
      sets.push({
        tensors: [randn([M * K]), randn([K * N]), Tensor.zeros([M * N], { device })],
        ints: [ta, tb, M, N, K, 1, 0, 0, 0],
        floats: [1, 0],
      });
    try {
      const ms = timeRotating('gemm', sets);
      out[name] = { ms, TFLOPs: (2 * M * N * K) / ms / 1e9 };
      console.log(`gemm ${name}: ${ms.toFixed(3)} ms, ${out[name].TFLOPs.toFixed(1)} TFLOP/s`);
    } finally {
      for (const c of sets) for (const t of c.tensors) t.dispose();
    }
  }
  return out;
}

function benchAttention(shapes: Shapes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of shapes.attention) {
    const { N, H, Hkv, hd } = a;
    const rows = segmentRows(N, a.segments);
    const seg = Tensor.from(Int32Array.from(rows), [rows.length / 4, 4], { device });
    const q = randn([N, H, hd]);
    const k = randn([N, Hkv, hd]);
    const v = randn([N, Hkv, hd]);
    const o = Tensor.zeros([N, H, hd], { device });
    const lse = Tensor.zeros([H, N], { device });
    const dout = randn([N, H, hd]);
    const dq = Tensor.zeros([N, H, hd], { device });
    const dk = Tensor.zeros([N, Hkv, hd], { device });
    const dv = Tensor.zeros([N, Hkv, hd], { device });
    const scale = 1 / Math.sqrt(hd);
    try {
      const fwd = timeRotating('attention_forward', [{ tensors: [q, k, v, seg, o, lse], floats: [scale] }], 10);
      const bwd = timeRotating('attention_backward', [{ tensors: [q, k, v, seg, o, lse, dout, dq, dk, dv], floats: [scale] }], 10);
      const V = visiblePairs(rows);
      out[a.name] = {
        fwd_ms: fwd,
        bwd_ms: bwd,
        fwdbwd_ms: fwd + bwd,
        visible_pairs_per_head: V,
        fwd_TFLOPs: (4 * V * hd * H) / fwd / 1e9,
        fwdbwd_TFLOPs: (14 * V * hd * H) / (fwd + bwd) / 1e9,
      };
      console.log(`attention ${a.name}: fwd ${fwd.toFixed(3)} ms, fwd+bwd ${(fwd + bwd).toFixed(3)} ms`);
    } finally {
      for (const t of [seg, q, k, v, o, lse, dout, dq, dk, dv]) t.dispose();
    }
  }
  return out;
}

function benchSampler(shapes: Shapes): Record<string, { ms: number; GBps: number }> {
  const out: Record<string, { ms: number; GBps: number }> = {};
  const n = shapes.sampler.elements;
  // the latent state as 24 samples of [rows, 16] (a GRPO group): flow_step, flow_noise, grpo_loss
  const S = 24;
  const Cl = 16;
  const rows = Math.floor(n / Cl / S) * S;
  const ne = rows * Cl;
  const x = randn([rows, Cl]);
  const vel = randn([rows, Cl]);
  const eps = randn([rows, Cl]);
  const xn = randn([rows, Cl]);
  const mean = Tensor.zeros([rows, Cl], { device });
  const dv = Tensor.zeros([rows, Cl], { device });
  const offsets = Tensor.from(Int32Array.from({ length: S + 1 }, (_, i) => (i * rows) / S), [S + 1], { device });
  const keys = Tensor.from(Int32Array.from({ length: S }, (_, i) => i), [S], { device });
  const per = (v: number) => Tensor.from(new Float32Array(S).fill(v), [S], { device });
  const [sig, sigN, std, logp, lpo, adv] = [per(0.9), per(0.8), per(0), per(0), per(-1.3), per(0.5)];
  const stats = Tensor.zeros([5], { device });
  const held = [x, vel, eps, xn, mean, dv, offsets, keys, sig, sigN, std, logp, lpo, adv, stats];
  try {
    const step = (mode: number, logpOnly: number) => ({ tensors: [x, vel, eps, xn, mean, offsets, sig, sigN, std, logp], ints: [mode, logpOnly], floats: [0.7, 0.9] });
    const flowCases: [string, OpCall, number, string][] = [
      ['flow_step ode', step(0, 0), 16, 'flow_step'],
      ['flow_step sde', step(1, 0), 20, 'flow_step'],
      ['flow_step sde logpOnly', step(1, 1), 16, 'flow_step'],
      ['flow_noise', { tensors: [eps, offsets, keys], ints: [3, 1] }, 4, 'flow_noise'],
      ['grpo_loss sde', { tensors: [vel, x, xn, mean, offsets, sig, sigN, lpo, adv, dv, logp, stats], ints: [1], floats: [0.7, 0.9, 1e-4, 0] }, 16, 'grpo_loss'],
      ['grpo_loss sde with KL', { tensors: [vel, x, xn, mean, offsets, sig, sigN, lpo, adv, dv, logp, stats], ints: [1], floats: [0.7, 0.9, 1e-4, 0.04] }, 20, 'grpo_loss'],
    ];
    for (const [label, call, bytesPer, op] of flowCases) {
      const ms = timeRotating(op, [call]);
      out[label] = { ms, GBps: (bytesPer * ne) / ms / 1e6 };
    }
  } finally {
    for (const t of held) t.dispose();
  }
  const { cfgRows: T, cfgChannels: C } = shapes.sampler;
  const vs = [randn([T, C]), randn([T, C]), randn([T, C]), Tensor.zeros([T, C], { device })];
  try {
    for (const [renorm, label] of [
      [0, 'cfg combine, global renorm'],
      [2, 'cfg combine, text-channel renorm'],
    ] as const) {
      const ms = timeRotating('cfg_combine', [{ tensors: vs, ints: [renorm], floats: [4, 2, 0] }]);
      out[label] = { ms, GBps: (4 * 4 * T * C) / ms / 1e6 };
    }
  } finally {
    for (const t of vs) t.dispose();
  }
  for (const [k, r] of Object.entries(out)) console.log(`sampler ${k}: ${r.ms.toFixed(3)} ms, ${r.GBps.toFixed(0)} GB/s`);
  return out;
}

// --- the MoT model: CUDA vs CPU step parity, our training step (MFU), PyTorch eager / compile ---

interface ModelShape {
  name: string;
  cfg: ModelConfig;
  batch: HostBatch;
}

const stepFlops = (cfg: ModelConfig, b: HostBatch): number => trainStepFlops(cfg, stepShapeOf(b));

/** One forward+backward of the same weights and batch on the CPU and on CUDA: losses and every gradient. */
async function modelParity(shape: ModelShape): Promise<Record<string, unknown>> {
  using cpu = MotModel.create(shape.cfg, { seed: 3 });
  using gpu = cpu.copyTo(device, { grads: true });
  const a = await cpu.forward(shape.batch);
  const b = await gpu.forward(shape.batch);
  await cpu.backward();
  await gpu.backward();
  let worst = { name: '', rel: 0 };
  let nonFinite = '';
  cpu.grads!.forEach((g, i) => {
    const ref = g.download() as Float32Array;
    const got = gpu.grads![i].download() as Float32Array;
    if (!got.every(Number.isFinite)) nonFinite ||= cpu.layout[i].name;
    const r = relNorm(got, ref);
    if (Math.hypot(...ref.subarray(0, 4096)) > 0 && r > worst.rel) worst = { name: cpu.layout[i].name, rel: r };
  });
  const lossRel = Math.abs(b.loss - a.loss) / Math.abs(a.loss);
  const pass = lossRel < 2e-2 && worst.rel < 6e-2 && !nonFinite;
  console.log(`model parity ${shape.name}: loss cpu ${a.loss.toFixed(5)} cuda ${b.loss.toFixed(5)} (rel ${lossRel.toExponential(1)}), worst grad ${worst.name} rel ${worst.rel.toExponential(1)}${nonFinite ? `, NON-FINITE ${nonFinite}` : ''} -> ${pass ? 'PASS' : 'FAIL'}`);
  return { status: pass ? 'pass' : 'fail', lossCpu: a.loss, lossCuda: b.loss, lossRel, worstGrad: worst, nonFinite };
}

/** Our training step's model work on CUDA (zeroGrad, forward, backward), median ms, and the MFU. */
async function modelStep(shape: ModelShape, outDir: string, peakFlops: number): Promise<Record<string, unknown>> {
  using model = MotModel.create(shape.cfg, { seed: 3, device });
  const flops = stepFlops(shape.cfg, shape.batch);
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    model.zeroGrad();
    await model.forward(shape.batch);
    await model.backward();
    if (i >= 2) times.push(performance.now() - t0);
  }
  const ms = median(times);
  const res: Record<string, unknown> = {
    tokens: shape.batch.kind.length,
    ms,
    TFLOPs: flops / ms / 1e9,
    mfu_vs_989: flops / (ms / 1000) / 989e12,
    mfu_vs_our_gemm: flops / (ms / 1000) / peakFlops,
  };
  console.log(`model step ${shape.name}: ${ms.toFixed(2)} ms, ${(flops / ms / 1e9).toFixed(1)} TFLOP/s, MFU ${(100 * (res.mfu_vs_989 as number)).toFixed(1)}% of 989`);
  // the PyTorch peer on the same weights and batch (bf16 autocast; eager, then torch.compile)
  // the weights (~0.6 GB at the full vocab) go to a temporary folder, never under --out (what comes back)
  const dir = mkdtempSync(join(tmpdir(), 'metacot-block-'));
  writeInputs(dir, model, shape.batch, 1, 1);
  for (const mode of ['eager', 'compile'] as const) {
    const args = [join(here, '..', '..', '..', '..', 'bench', 'peers', 'mot_torch.py'), '--dir', dir, '--device', device, '--reps', dryRun ? '1' : '6', '--warmup', dryRun ? '0' : '2'];
    if (device === 'cuda') args.push('--bf16');
    if (mode === 'compile') args.push('--compile', '--variants', 'grouped');
    if (mode === 'compile' && dryRun) continue; // torch.compile is for the GPU figure only
    const r = spawnSync(process.env.METACOT_PYTHON ?? 'python3', args, { encoding: 'utf8', timeout: mode === 'compile' ? 100_000 : 60_000 });
    const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    try {
      const j = JSON.parse(line) as { fwdbwd_ms: number; routing: string };
      res[`torch_${mode}`] = j;
      console.log(`model step ${shape.name}: PyTorch ${mode} (${j.routing}) ${j.fwdbwd_ms.toFixed(2)} ms`);
    } catch {
      res[`torch_${mode}`] = { error: `${r.error?.message ?? ''} ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`.trim() };
      console.log(`model step ${shape.name}: PyTorch ${mode} failed: ${JSON.stringify(res[`torch_${mode}`])}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return res;
}

function modelShapes(): { parity: ModelShape; step: ModelShape } {
  if (dryRun) {
    const cfg = preset('tiny', { layers: 1 });
    const small = { latent: 16, vit: 16, instr: 4, cot: 12 };
    const batch = buildBatch(cfg, [...editSample(0, small), ...editSample(1, small)], 5);
    return { parity: { name: 'tiny dry run', cfg, batch }, step: { name: 'tiny dry run', cfg, batch } };
  }
  const mid = { latent: 128, vit: 128, instr: 24, cot: 104 };
  const parityCfg = preset('qwen2.5-0.5b-mot', { layers: 2, vocab: 4096 });
  const big = { latent: 256, vit: 256, instr: 32, cot: 224 };
  const stepCfg = preset('qwen2.5-0.5b-mot', { layers: 4 });
  return {
    parity: { name: '0.5B dims, 2 layers, 1024 tokens', cfg: parityCfg, batch: buildBatch(parityCfg, [...editSample(0, mid), ...editSample(1, mid)], 5) },
    step: {
      name: 'qwen2.5-0.5b-mot, 4 layers, 4096 tokens',
      cfg: stepCfg,
      batch: buildBatch(stepCfg, [0, 1, 2, 3].flatMap((s) => editSample(s, big)), 6),
    },
  };
}

// --- the table ---
type Row = [string, string, string, string, string];
function table(rows: Row[]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ')).join('\n');
}

function summarise(ours: Record<string, any>, peer: Record<string, any> | null, parity: ParityResult[]): string {
  const rows: Row[] = [['item', 'ours', 'PyTorch', 'ratio', 'bar']];
  const ratio = (p: number | undefined, o: number | undefined): string =>
    p && o && Number.isFinite(p) && Number.isFinite(o) ? `${(p / o).toFixed(2)}x` : '-';
  const pass = parity.filter((r) => r.status === 'pass').length;
  const fail = parity.filter((r) => r.status === 'fail');
  rows.push(['parity (CUDA vs CPU)', `${pass} pass, ${fail.length} fail`, '', '', fail.length ? 'FAIL' : 'ok']);
  for (const [name, o] of Object.entries(ours.gemm ?? {}) as [string, any][]) {
    const p = peer?.gemm?.[name];
    rows.push([`gemm ${name}`, `${o.TFLOPs.toFixed(1)} TFLOP/s`, p?.TFLOPs ? `${p.TFLOPs.toFixed(1)} TFLOP/s` : '-', ratio(p?.ms, o.ms), '>= 0.8x']);
  }
  for (const [name, o] of Object.entries(ours.attention ?? {}) as [string, any][]) {
    const b = peer?.attention?.[name]?.best;
    rows.push([
      `attention ${name} fwd+bwd`,
      `${o.fwdbwd_ms.toFixed(3)} ms`,
      b ? `${b.fwdbwd_ms.toFixed(3)} ms (${b.variant})` : '-',
      ratio(b?.fwdbwd_ms, o.fwdbwd_ms),
      '>= 1.0x',
    ]);
  }
  const copy = peer?.copy?.GBps as number | undefined;
  for (const [name, o] of Object.entries(ours.sampler ?? {}) as [string, any][])
    rows.push([`sampler ${name}`, `${o.GBps.toFixed(0)} GB/s`, copy ? `copy ${copy.toFixed(0)} GB/s` : '-', copy ? `${(o.GBps / copy).toFixed(2)} of copy` : '-', '']);
  const mp = ours.model?.parity;
  if (mp) rows.push(['model step parity (CUDA vs CPU)', `loss rel ${mp.lossRel.toExponential(1)}, grads <= ${mp.worstGrad.rel.toExponential(1)}`, '', '', mp.status === 'pass' ? 'ok' : 'FAIL']);
  const ms = ours.model?.step;
  if (ms) {
    const e = ms.torch_eager?.fwdbwd_ms as number | undefined;
    const c = ms.torch_compile?.fwdbwd_ms as number | undefined;
    rows.push(['MoT fwd+bwd vs PyTorch eager (bf16)', `${ms.ms.toFixed(2)} ms`, e ? `${e.toFixed(2)} ms` : 'failed', ratio(e, ms.ms), '>= 1.2x']);
    rows.push(['MoT fwd+bwd vs torch.compile', `${ms.ms.toFixed(2)} ms`, c ? `${c.toFixed(2)} ms` : 'failed', ratio(c, ms.ms), '']);
    rows.push(['train step MFU (0.5B, 4 layers)', `${(100 * ms.mfu_vs_989).toFixed(1)}% of 989 TFLOP/s`, `${(100 * ms.mfu_vs_our_gemm).toFixed(0)}% of our GEMM`, '', '']);
  }
  return table(rows);
}

async function main(): Promise<void> {
  const outDir = arg('--out') ?? 'gpu-results';
  mkdirSync(outDir, { recursive: true });
  const shapesPath = arg('--shapes') ?? join(here, 'shapes.json');
  const shapes = JSON.parse(readFileSync(existsSync(shapesPath) ? shapesPath : join(here, '..', '..', '..', '..', 'bench', 'gpu', 'shapes.json'), 'utf8')) as Shapes;
  const backend = loadBackend();
  if (dryRun) {
    for (const g of shapes.gemm) for (const i of [3, 4, 5] as const) g[i] = Math.max(1, Math.floor(g[i] / 16));
    for (const a of shapes.attention) a.N = Math.floor(a.N / 16);
    shapes.sampler = { elements: 1 << 16, cfgRows: 256, cfgChannels: 64 };
    console.log('ops: CPU dry run (cut-down shapes, no parity): checks the script, not the speed');
  } else if (backend.device !== 'cuda') {
    console.error(`ops: no usable CUDA backend: ${backend.fallbackReasons.join('; ')}`);
    process.exit(2);
  }
  const deviceName = dryRun ? 'cpu (dry run)' : backend.info.cuda.device;
  console.log(`ops: ${deviceName}`);
  const result: Record<string, any> = { device: deviceName, parity: [] as ParityResult[] };

  const parityFrom = arg('--parity-from');
  if (parityFrom && existsSync(parityFrom)) {
    result.parity = (JSON.parse(readFileSync(parityFrom, 'utf8')) as { parity: ParityResult[] }).parity;
    console.log(`ops: parity results from ${parityFrom} (${result.parity.length} cases)`);
  } else if (!flag('--no-parity') && !dryRun) {
    for (const pc of parityCases()) {
      const r = checkParity(pc.op, pc.label, pc.build);
      result.parity.push(r);
      const worst = r.outputs.map((d) => `out${d.output} rel ${d.relNorm.toExponential(1)} max ${d.maxAbs.toExponential(1)}`).join(', ');
      console.log(`${r.status.toUpperCase().padEnd(4)} ${pc.op} (${pc.label}) ${worst}${r.reason ? ` -- ${r.reason}` : ''}`);
    }
    writeJsonAtomic(join(outDir, 'ours.json'), result);
  }
  if (flag('--parity-only')) {
    process.exit(result.parity.some((r: ParityResult) => r.status === 'fail') ? 1 : 0);
  }
  for (const [key, fn] of [
    ['gemm', benchGemm],
    ['attention', benchAttention],
    ['sampler', benchSampler],
  ] as const) {
    try {
      result[key] = fn(shapes);
    } catch (e) {
      result[`${key}_error`] = (e as Error).message;
      console.error(`${key}: ${(e as Error).message}`);
    }
    writeJsonAtomic(join(outDir, 'ours.json'), result);
  }
  if (!flag('--no-model')) {
    const ms = modelShapes();
    result.model = {};
    try {
      result.model.parity = await modelParity(ms.parity);
      writeJsonAtomic(join(outDir, 'ours.json'), result);
      const peak = result.gemm?.['4096^3']?.TFLOPs ? result.gemm['4096^3'].TFLOPs * 1e12 : 989e12;
      result.model.step = await modelStep(ms.step, outDir, peak);
    } catch (e) {
      result.model_error = (e as Error).message;
      console.error(`model: ${(e as Error).message}`);
    }
    writeJsonAtomic(join(outDir, 'ours.json'), result);
  }
  const peerPath = arg('--peer');
  const peer = peerPath && existsSync(peerPath) ? JSON.parse(readFileSync(peerPath, 'utf8')) : null;
  const summary = summarise(result, peer, result.parity);
  writeFileSync(join(outDir, 'summary.txt'), `${summary}\n`);
  console.log(`\n${summary}`);
  process.exit(result.parity.some((r: ParityResult) => r.status === 'fail') || result.model?.parity?.status === 'fail' ? 1 : 0);
}

await main();
