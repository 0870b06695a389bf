// npm run bench -- block [--quick] [--shapes=tiny,0.5b] [--reps=N] [--variants=grouped,grouped/sample,index]
// The whole MoT model (DESIGN.md section 2), forward + loss + backward of one packed batch: ours
// (native/model/mot.cc through MotModel) vs the same model in PyTorch CPU (bench/peers/mot_torch.py),
// on the same weights and the same batch, at two shapes:
//   tiny      the `tiny` preset (4 layers, D 256, 4/2 heads, hd 64, MLP 768, vocab 512) with 2 packed
//             edit samples of [clean latents 64 | ViT 64 | instruction 16 | CoT 48 (CE) | noisy 64 (MSE)]
//             = 512 tokens
//   0.5b      qwen2.5-0.5b-mot's dimensions (D 896, 14/2 heads, hd 64, MLP 4864) cut to 2 layers and a
//             4096 vocab, 2 packed edit samples of [clean 128 | ViT 128 | instr 24 | CoT 104 | noisy 128]
//             = 1024 tokens
// Rows: fwd+bwd (one training step's model work: gradient reset - our zeroGrad, torch's grad = None -
// then forward with the loss, then backward), fwd and bwd alone, in ms: medians of the timed
// iterations after warm-up, on both sides; ratio = torch / ours, > 1 means we are faster; and the
// fastest fwd+bwd of each side.
// Timing: the peer is a long-lived process (mot_torch.py --serve); after warm-up, the sides take
// turns (ours, then each torch variant), each turn one untimed and 3 (tiny) or 1 (0.5b) timed
// iterations back to back, started once the shared machine is idle (procs_running; waiting up to 5 s,
// 1 s with --quick; --no-wait-quiet skips it), so both sides see the same background load.
// The torch figure is its fastest variant by median (see the peer's docstring: expert routing by
// index or by one grouping permutation; attention dense over the pack or per sample), run with
// OMP_WAIT_POLICY=PASSIVE (see Peer.start).
// Agreement: the loss (rel 1e-4) and the gradient of every parameter tensor (||ours - torch|| /
// ||torch|| <= 1e-3 each) from one forward+backward on fresh gradients, and the other torch variants
// against the first; the fwd+bwd row's note gives the largest differences; a disagreement throws.
// Weights: MotModel.create's init with every zero/one-initialised tensor (biases, norms, llm2vae)
// randomised, so every path carries gradient.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { BatchTensors, type HostBatch } from '../src/model/batch.js';
import { type ModelConfig, nativeConfig, preset } from '../src/model/config.js';
import { MotModel } from '../src/model/model.js';
import { loadBackend } from '../src/native/loader.js';
import { type BenchSeg, buildBatch, editSample, randn } from './lib/mot_batch.js';
import { type BenchOptions, type BenchRow, ratioLower } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3'; // Debian's python3-torch lives in the system interpreter

const LOSS_TOL = 1e-4;
const GRAD_TOL = 1e-3;

export interface Shape {
  name: string;
  cfg: ModelConfig;
  segs: BenchSeg[];
  /** untimed iterations at the start */
  warmup: number;
  /** turns per side; each turn is `turnWarm` untimed then `turnReps` timed iterations back to back */
  rounds: number;
  turnWarm: number;
  turnReps: number;
}

/** Shapes; repsArg (--reps) sets the number of rounds. Each turn starts with an untimed iteration
 * because an iteration that starts on a CPU idle for a while runs slow: tiny fwd 33 -> 53 ms and bwd
 * 61 -> 75 ms after 200 ms idle (bench/lib/block_profile.ts with BLOCK_PROFILE_SLEEP_MS), and a
 * training loop runs its steps back to back. */
export function shapes(quick: boolean, repsArg: number | null): Shape[] {
  const tinySample = { latent: 64, vit: 64, instr: 16, cot: 48 };
  const bigSample = { latent: 128, vit: 128, instr: 24, cot: 104 };
  return [
    {
      name: 'tiny',
      cfg: preset('tiny'),
      segs: [...editSample(0, tinySample), ...editSample(1, tinySample)],
      warmup: quick ? 1 : 3,
      rounds: repsArg ?? (quick ? 2 : 5),
      turnWarm: 1,
      turnReps: 3,
    },
    {
      name: '0.5b',
      cfg: preset('qwen2.5-0.5b-mot', { layers: 2, vocab: 4096 }),
      segs: [...editSample(0, bigSample), ...editSample(1, bigSample)],
      warmup: 1,
      rounds: repsArg ?? (quick ? 2 : 6),
      turnWarm: 1,
      turnReps: 1,
    },
  ];
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** ours: n training steps' worth of work: zeroGrad, forward, backward, each timed (the batch is
 * uploaded once, as a training loop would); total includes zeroGrad, as the peer's includes its
 * gradient reset. */
async function oursIters(model: MotModel, bt: BatchTensors, n: number): Promise<IterTimes> {
  const t: IterTimes = { fwd: [], bwd: [], tot: [] };
  for (let i = 0; i < n; i++) {
    const tz = process.hrtime.bigint();
    model.zeroGrad();
    const t0 = process.hrtime.bigint();
    await model.forward(bt);
    const t1 = process.hrtime.bigint();
    await model.backward();
    const t2 = process.hrtime.bigint();
    t.fwd.push(Number(t1 - t0) / 1e6);
    t.bwd.push(Number(t2 - t1) / 1e6);
    t.tot.push(Number(t2 - tz) / 1e6);
  }
  return t;
}

/** Processes running right now, from /proc/stat (Linux; null elsewhere). The caller counts as one. */
function procsRunning(): number | null {
  try {
    const m = /^procs_running (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Waits (up to maxMs) until nothing else runs on the machine, seen twice 50 ms apart, so an iteration
 * starts on idle cores; true when it did. The machines are shared: other jobs come and go. */
async function waitQuiet(maxMs: number): Promise<boolean> {
  const t0 = Date.now();
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (;;) {
    const n = procsRunning();
    if (n === null) return true;
    if (n <= 1) {
      await sleep(50);
      if ((procsRunning() ?? 0) <= 1) return true;
    }
    if (Date.now() - t0 > maxMs) return false;
    await sleep(100);
  }
}

function concatTimes(ts: IterTimes[]): IterTimes {
  return { fwd: ts.flatMap((t) => t.fwd), bwd: ts.flatMap((t) => t.bwd), tot: ts.flatMap((t) => t.tot) };
}

/** Overwrites the zero- and one-initialised tensors (biases, norm weights, llm2vae) with random values. */
export function randomize(model: MotModel, seed: number): void {
  model.layout.forEach((s, i) => {
    if (s.init === 'normal') return;
    const n = s.shape.reduce((a, b) => a * b, 1);
    model.params[i].upload(s.init === 'ones' ? randn(n, seed + i, 0.1, 1) : randn(n, seed + i, 0.02));
  });
}

interface PeerHello {
  torch: string;
  threads: number;
  attention: string;
  variants: string[];
  /** the other variants' loss and largest per-tensor gradient difference against the first one */
  variant_check: Record<string, { loss: number; grad_rel: number }>;
  loss: number;
  ce: number;
  mse: number;
}
interface IterTimes {
  fwd: number[];
  bwd: number[];
  tot: number[];
}

/** The PyTorch peer as a child process answering `time ROUTING N` lines (mot_torch.py --serve). */
class Peer {
  private constructor(
    private proc: ChildProcessWithoutNullStreams,
    private lines: AsyncIterator<string>,
    private stderr: () => string,
  ) {}

  /** Starts the peer; it loads the inputs, runs the agreement forward+backward and says hello. */
  static async start(args: string[]): Promise<{ peer: Peer; hello: PeerHello } | { reason: string }> {
    // The peer gets OpenBLAS at its best: these machines may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
    // which hold it back, so they are unset for the peer's process only (as in bench/attention.ts).
    // And OMP_WAIT_POLICY=PASSIVE: Debian's torch runs its elementwise ops on OpenMP threads and its
    // GEMMs on OpenBLAS's own pthreads; with libgomp's default spin-wait the idle OpenMP worker spins
    // on a core OpenBLAS needs, and fwd+bwd is ~1.5x slower on 2 cores (measured: 0.5b shape 2.0-2.3 s
    // default vs 1.3-1.6 s passive; ACTIVE 7-10 s). An explicit OMP_WAIT_POLICY in the environment wins.
    const env: NodeJS.ProcessEnv = { OMP_WAIT_POLICY: 'PASSIVE', ...process.env };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    let proc: ChildProcessWithoutNullStreams;
    try {
      proc = spawn(PYTHON, [join(here, 'peers', 'mot_torch.py'), '--serve', ...args], { env, stdio: 'pipe' });
    } catch (e) {
      return { reason: `${PYTHON} not runnable: ${(e as Error).message}` };
    }
    let err = '';
    proc.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    const spawnError = new Promise<string>((res) => proc.on('error', (e) => res(`${PYTHON} not runnable: ${e.message}`)));
    const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const peer = new Peer(proc, lines, () => err);
    const first = await Promise.race([lines.next().then((r) => (r.done ? null : r.value)), spawnError.then((m) => ({ m }))]);
    if (first === null || typeof first !== 'string') {
      peer.close();
      if (first && typeof first === 'object') return { reason: first.m };
      return { reason: /No module named 'torch'/.test(err) ? 'PyTorch missing (apt-get install python3-torch)' : `peer failed: ${err.trim().split('\n').pop() ?? ''}` };
    }
    return { peer, hello: JSON.parse(first) as PeerHello };
  }

  async time(variant: string, n: number, warm = 0): Promise<IterTimes> {
    this.proc.stdin.write(`time ${variant} ${n} ${warm}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error(`block: the PyTorch peer exited: ${this.stderr().trim().split('\n').pop() ?? ''}`);
    const j = JSON.parse(r.value) as IterTimes & { error?: string };
    if (j.error) throw new Error(`block: the PyTorch peer: ${j.error}`);
    return j;
  }

  close(): void {
    if (this.proc.exitCode === null && !this.proc.killed) {
      this.proc.stdin.end('quit\n');
      setTimeout(() => this.proc.kill(), 2000).unref();
    }
  }
}

/** Writes the model's parameters and the batch for the peer (raw little-endian + a JSON manifest). */
export function writeInputs(dir: string, model: MotModel, batch: HostBatch, wCe: number, wMse: number): number[] {
  const offsets: number[] = [];
  let total = 0;
  for (const s of model.layout) {
    offsets.push(total);
    total += s.shape.reduce((a, b) => a * b, 1);
  }
  const all = new Float32Array(total);
  model.params.forEach((t, i) => all.set(t.toFloat32Array(), offsets[i]));
  writeFileSync(join(dir, 'params.bin'), Buffer.from(all.buffer, all.byteOffset, all.byteLength));

  const fields: [string, Int32Array | Float32Array | undefined][] = [
    ['ids', batch.ids],
    ['kind', batch.kind],
    ['expert', batch.expert],
    ['pos', batch.pos],
    ['seg', batch.seg],
    ['vitPatches', batch.vitPatches],
    ['vitPos', batch.vitPos],
    ['latents', batch.latents],
    ['latentPos', batch.latentPos],
    ['latentT', batch.latentT],
    ['ceTargets', batch.ceTargets],
    ['mseTarget', batch.mseTarget],
    ['mseMask', batch.mseMask],
  ];
  const manBatch: Record<string, { dtype: string; shape: number[]; offset: number }> = {};
  let boff = 0;
  const parts: Buffer[] = [];
  for (const [name, a] of fields) {
    if (!a) continue;
    manBatch[name] = { dtype: a instanceof Float32Array ? 'f32' : 'i32', shape: [a.length], offset: boff };
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    boff += a.length;
  }
  writeFileSync(join(dir, 'batch.bin'), Buffer.concat(parts));
  const c = model.config;
  const manifest = {
    config: nativeConfig(c),
    wCe,
    wMse,
    params: model.layout.map((s, i) => ({ name: s.name, shape: s.shape, offset: offsets[i] })),
    batch: manBatch,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return offsets;
}

interface Agreement {
  lossRel: number;
  worstGrad: { name: string; rel: number };
  failures: string[];
  tensors: number;
}

function compareGrads(model: MotModel, grads: Float32Array[], offsets: number[], torchGrads: Float32Array, oursLoss: number, torchLoss: number): Agreement {
  const lossRel = Math.abs(oursLoss - torchLoss) / Math.max(Math.abs(torchLoss), 1e-30);
  const failures: string[] = [];
  if (!(lossRel <= LOSS_TOL)) failures.push(`loss ours ${oursLoss} torch ${torchLoss} (rel ${lossRel.toExponential(2)} > ${LOSS_TOL})`);
  let worst = { name: '', rel: -1 };
  grads.forEach((a, i) => {
    const b = torchGrads.subarray(offsets[i], offsets[i] + a.length);
    let dd = 0;
    let bb = 0;
    for (let j = 0; j < a.length; j++) {
      const d = a[j] - b[j];
      dd += d * d;
      bb += b[j] * b[j];
    }
    const rel = Math.sqrt(dd) / Math.max(Math.sqrt(bb), 1e-30);
    const name = model.layout[i].name;
    if (!(rel <= worst.rel)) worst = { name, rel }; // NaN wins
    if (!(rel <= GRAD_TOL)) failures.push(`grad ${name}: ||ours - torch|| / ||torch|| = ${rel.toExponential(2)} (||torch|| ${Math.sqrt(bb).toExponential(2)})`);
  });
  return { lossRel, worstGrad: worst, failures, tensors: grads.length };
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const arg = (k: string) => opts.args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3) ?? null;
  const pick = arg('shapes')?.split(',') ?? null;
  const repsArg = arg('reps') ? Number(arg('reps')) : null;
  const quietMs = opts.args.includes('--no-wait-quiet') ? -1 : opts.quick ? 1000 : 5000;
  const peerVariants = arg('variants') ?? (opts.quick ? 'grouped/sample' : 'grouped,grouped/sample,index');
  const threads = loadBackend().binding.info().threads;
  const wCe = 1;
  const wMse = 1;
  const rows: BenchRow[] = [];
  for (const sh of shapes(opts.quick, repsArg)) {
    if (pick && !pick.includes(sh.name)) continue;
    const batch = buildBatch(sh.cfg, sh.segs, 11);
    const N = batch.ids.length;
    const c = sh.cfg;
    const label = `${sh.name} L${c.layers} D${c.hidden} F${c.mlp} V${c.vocab} N${N}`;
    using model = MotModel.create(sh.cfg, { seed: 5 });
    randomize(model, 1000);
    const bt = new BatchTensors(batch, c.vitPatchDim, c.latentChannels);
    const dir = mkdtempSync(join(tmpdir(), 'metacot-block-'));
    let peer: Peer | null = null;
    try {
      // agreement run on fresh gradients
      model.zeroGrad();
      const r = await model.forward(bt, { wCe, wMse });
      await model.backward();
      const oursGrads = model.grads!.map((g) => g.toFloat32Array());
      const offsets = writeInputs(dir, model, batch, wCe, wMse);
      const started = await Peer.start([`--dir=${dir}`, `--threads=${threads}`, `--variants=${peerVariants}`]);
      // torch missing leaves the peer column empty; the peer failing on its inputs is a bug: throw
      if ('reason' in started && started.reason.startsWith('peer')) throw new Error(`block ${sh.name}: the PyTorch peer failed: ${started.reason}`);
      let note = 'reason' in started ? started.reason : '';
      let hello: PeerHello | null = null;
      if ('peer' in started) {
        peer = started.peer;
        hello = started.hello;
        const buf = readFileSync(join(dir, 'grads.bin'));
        const tg = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        const ag = compareGrads(model, oursGrads, offsets, tg, r.loss, hello.loss);
        const agree = `loss ${r.loss.toFixed(5)} rel ${ag.lossRel.toExponential(1)}; grads (${ag.tensors} tensors) max rel ${ag.worstGrad.rel.toExponential(1)} (${ag.worstGrad.name})`;
        console.log(`block ${sh.name}: ${agree}; ours ce ${r.ce.toFixed(5)} mse ${r.mse.toFixed(5)} | torch ce ${hello.ce.toFixed(5)} mse ${hello.mse.toFixed(5)}`);
        for (const [v, chk] of Object.entries(hello.variant_check)) {
          const lr = Math.abs(chk.loss - hello.loss) / Math.abs(hello.loss);
          if (!(lr <= LOSS_TOL) || !(chk.grad_rel <= GRAD_TOL))
            ag.failures.push(`torch variant ${v} vs ${hello.variants[0]}: loss rel ${lr.toExponential(2)}, grads max rel ${chk.grad_rel.toExponential(2)}`);
        }
        if (ag.failures.length)
          throw new Error(
            `block ${sh.name}: ours and PyTorch DISAGREE:\n  ${ag.failures.slice(0, 12).join('\n  ')}${ag.failures.length > 12 ? `\n  ... ${ag.failures.length - 12} more` : ''}`,
          );
        note = `agree: ${agree}`;
      }
      // timing: warm-up, then rounds in which each side takes a turn (turnWarm untimed + turnReps timed
      // iterations back to back), each turn started on an idle machine when possible
      const variants = hello?.variants ?? [];
      await oursIters(model, bt, sh.warmup);
      for (const v of variants) await peer!.time(v, sh.warmup);
      const oursT: IterTimes[] = [];
      const peerT: Record<string, IterTimes[]> = Object.fromEntries(variants.map((v) => [v, []]));
      let noisy = 0;
      let iters = 0;
      const quiet = async () => {
        iters++;
        if (quietMs >= 0 && !(await waitQuiet(quietMs))) noisy++;
      };
      for (let i = 0; i < sh.rounds; i++) {
        await quiet();
        await oursIters(model, bt, sh.turnWarm);
        oursT.push(await oursIters(model, bt, sh.turnReps));
        for (const v of variants) {
          await quiet();
          peerT[v].push(await peer!.time(v, sh.turnReps, sh.turnWarm));
        }
      }
      const quietNote = quietMs < 0 ? 'no quiet wait' : `${iters - noisy}/${iters} turns started on an idle machine`;
      const ours = concatTimes(oursT);
      const peers = Object.fromEntries(variants.map((v) => [v, concatTimes(peerT[v])]));
      const best = variants.length ? variants.reduce((a, b) => (median(peers[b].tot) < median(peers[a].tot) ? b : a)) : null;
      const p = best ? peers[best] : null;
      const ms = (v: number[]) => v.map((t) => t.toFixed(0)).join(' ');
      console.log(`block ${sh.name}: ${quietNote}; ours fwd ${median(ours.fwd).toFixed(1)} bwd ${median(ours.bwd).toFixed(1)}, fwd+bwd ms [${ms(ours.tot)}]`);
      for (const v of variants)
        console.log(
          `block ${sh.name}: torch ${hello!.torch} (${v}) ${hello!.threads} threads, ${hello!.attention}: fwd ${median(peers[v].fwd).toFixed(1)} bwd ${median(peers[v].bwd).toFixed(1)}, fwd+bwd ms [${ms(peers[v].tot)}]`,
        );
      const med = (v: number[] | undefined) => (v ? median(v) : null);
      const min = (v: number[] | undefined) => (v ? Math.min(...v) : null);
      const row = (name: string, o: number, q: number | null, n: string): BenchRow => ({ name, ours: o, peer: q, unit: 'ms', ratio: ratioLower(o, q), note: n });
      const why = p ? null : note;
      rows.push(row(`fwd+bwd ${label}`, median(ours.tot), med(p?.tot), p ? `torch ${best}, ${threads} thr; ${note}` : note));
      rows.push(row(`fwd ${sh.name}`, median(ours.fwd), med(p?.fwd), why ?? 'median forward (incl. loss) of the same iterations'));
      rows.push(row(`bwd ${sh.name}`, median(ours.bwd), med(p?.bwd), why ?? 'median backward of the same iterations'));
      rows.push(row(`fwd+bwd min ${sh.name}`, Math.min(...ours.tot), min(p?.tot), why ?? `fastest of ${sh.rounds * sh.turnReps} (least disturbed by other load); ${quietNote}`));
    } finally {
      peer?.close();
      bt.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}
