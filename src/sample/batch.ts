// The batched rectified-flow sampler (DESIGN.md sections 3 and 4): many edits, each with its own
// source, instruction and CoT, denoised together. One KV cache holds every context once: for each
// group of requests that share a prompt (same source, instruction and CoT) its full context and, when
// guidance is on, its no-text and no-image contexts, each as its own sample of the packed prefill.
// Each step is one cached pass over the noise segments of every (request, context) pair: a noise
// segment carries its context's sample id, so it sees that context and nothing else (noise segments
// never see each other), which is how a group of G rollouts shares one prefix computed once.
//
// Per step: velocities of all pairs -> cfg_combine over all requests at once -> flow_step (Euler ODE,
// or Flow-GRPO's SDE inside a window of steps) with per-request timesteps -> next x. The initial noise
// and the SDE noise come from flow_noise keyed by (seed, request key, step), so a request gives the
// same image whatever batch it is in, and a rollout can be replayed. With `record`, x_t, the
// transition's mean, std and log-probability are kept per request and step (the RL stage needs them).
import { editContext, type SampleContext } from '../data/samples.js';
import { packSamples } from '../data/pack.js';
import { type PackedSample, SequenceBuilder } from '../data/sequence.js';
import type { HostBatch } from '../model/batch.js';
import { KvCache, type MotModel } from '../model/model.js';
import { embeddingForward } from '../ops/embedding.js';
import { Tensor } from '../native/tensor.js';
import { type CfgRenorm, type FlowMode, cfgCombine, flowNoise, flowStep } from '../ops/sampler.js';
import type { RgbImage } from '../world/image.js';
import { guidanceActive, odeSchedule } from './ode.js';

export interface BatchEditRequest {
  source: RgbImage;
  instruction: string;
  /** the CoT to condition on (given, or generated beforehand); absent or empty: no CoT segment */
  cot?: string;
  /** the noise key: with the same seed and key, a request draws the same noise in any batch */
  key: number;
}

export interface SdeWindow {
  /** first step (0-based) taken with the SDE */
  start: number;
  /** number of SDE steps from `start` */
  size: number;
  mode: Exclude<FlowMode, 'ode'>;
  /** Flow-GRPO's noise level a */
  noiseLevel: number;
}

export interface BatchSampleOptions {
  steps: number;
  timestepShift: number;
  cfgText: number;
  cfgImg: number;
  cfgInterval: readonly [number, number];
  renorm: CfgRenorm;
  renormMin: number;
  seed: number;
  /** SDE steps inside this window, ODE steps elsewhere (default: ODE throughout) */
  sde?: SdeWindow;
  /** keep x_t, mean, std and logp per request and step */
  record?: boolean;
  /** initial noise per request (tokens x channels of its source's latent grid) instead of flow_noise */
  noise?: readonly (Float32Array | undefined)[];
  /** requests with the same source, instruction and CoT share one set of cached contexts (default true) */
  sharePrefix?: boolean;
}

export interface StepRecord {
  t: number;
  tNext: number;
  mode: FlowMode;
  /** x at t */
  x: Float32Array;
  /** the transition's mean and the sample drawn */
  mean: Float32Array;
  xNext: Float32Array;
  std: number;
  logp: number;
}

export interface BatchEditOutput {
  image: RgbImage;
  latents: Float32Array;
  /** per step, with `record` */
  steps?: StepRecord[];
}

export interface BatchSampleResult {
  outputs: BatchEditOutput[];
  /** prefix contexts computed (each once), and noise segments per guided step */
  contexts: number;
  seconds: { prefill: number; denoise: number };
}

interface PassLayout {
  kinds: number;
  batch: HostBatch;
  gather: Tensor<'i32'>;
  back: Tensor<'i32'>[];
  latents: Tensor<'f32'>;
  vel: Tensor<'f32'>;
  v: Tensor<'f32'>[];
}

/** Which prefix contexts a sample with these options needs. */
type ContextKind = 'full' | 'noText' | 'noImage';

interface Group {
  contexts: { kind: ContextKind; id: number; position: number }[];
}

function groupKey(r: BatchEditRequest): string {
  return JSON.stringify([r.instruction, r.cot ?? '', r.source.width, r.source.height, Buffer.from(r.source.data.buffer, r.source.data.byteOffset, r.source.data.byteLength).toString('base64')]);
}

/** The noise segment [vision_start x_t vision_end] of a context, laid out by the builder after the context's prefix. */
function noiseSample(ctx: SampleContext, position: number, rows: number, cols: number, x: Float32Array, t: number): PackedSample {
  return new SequenceBuilder(ctx.tokenizer.special, ctx.dims, position).noisyImage({ rows, cols, dim: ctx.dims.latentChannels, data: x }, t).build();
}

function checkOptions(requests: readonly BatchEditRequest[], o: BatchSampleOptions): void {
  const fn = 'sampleBatch';
  if (requests.length === 0) throw new RangeError(`${fn}: argument 'requests' expected at least one request, received none`);
  requests.forEach((r, i) => {
    if (!Number.isInteger(r.key) || r.key < -(2 ** 31) || r.key >= 2 ** 31) throw new RangeError(`${fn}: request ${i}: 'key' expected a 32-bit integer, received ${r.key}`);
  });
  if (!Number.isInteger(o.steps) || o.steps < 2) throw new RangeError(`${fn}: option 'steps' expected an integer >= 2, received ${o.steps}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new RangeError(`${fn}: option 'seed' expected a non-negative integer, received ${o.seed}`);
  if (o.sde) {
    const { start, size } = o.sde;
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(size) || size < 1 || start + size > o.steps - 1)
      throw new RangeError(`${fn}: option 'sde' expected a window of steps inside 0..${o.steps - 2}, received start ${start}, size ${size}`);
  }
  if (o.noise && o.noise.length !== requests.length) throw new RangeError(`${fn}: option 'noise' expected one entry per request (${requests.length}), received ${o.noise.length}`);
}

/**
 * Denoises all requests together (see the file comment). x, the velocities, the guidance and the steps
 * stay on the model's device between steps (gathers by embedding_forward route rows between the
 * request order and the pass's order); only `record` and the final latents come back to host memory,
 * and the `global` renorm combines request by request in host memory.
 */
export async function sampleBatch(model: MotModel, ctx: SampleContext, requests: readonly BatchEditRequest[], o: BatchSampleOptions): Promise<BatchSampleResult> {
  checkOptions(requests, o);
  const C = ctx.dims.latentChannels;
  const ts = odeSchedule(o.steps, o.timestepShift);
  const guided = ts.slice(0, -1).some((t) => guidanceActive(o, t));
  const t0 = performance.now();

  // one prefill: each distinct prompt's contexts, each its own sample
  const groups = new Map<string, Group>();
  const groupOf: Group[] = [];
  const prefix: PackedSample[] = [];
  const share = o.sharePrefix ?? true;
  requests.forEach((r, i) => {
    const k = share ? groupKey(r) : String(i);
    let g = groups.get(k);
    if (!g) {
      g = { contexts: [] };
      // an empty or blank CoT adds no segment (editContext's rule, as in training)
      const cot = r.cot;
      const add = (kind: ContextKind, b: SequenceBuilder) => {
        g!.contexts.push({ kind, id: prefix.length, position: b.position });
        prefix.push(b.build());
      };
      add('full', editContext({ source: r.source, instruction: r.instruction, cot }, ctx));
      if (guided) {
        add('noText', editContext({ source: r.source }, ctx));
        add('noImage', editContext({ instruction: r.instruction, cot }, ctx));
      }
      groups.set(k, g);
    }
    groupOf.push(g);
  });
  using cache = new KvCache();
  await model.infer(cache, packSamples(prefix), { write: true });
  const t1 = performance.now();

  // the latent grid of each request and its rows in the packed x; every tensor of the loop lives on
  // the model's device
  const grids = requests.map((r) => ctx.codec.encode(r.source));
  const offsets = [0];
  for (const g of grids) offsets.push(offsets[offsets.length - 1] + g.rows * g.cols);
  const R = requests.length;
  const N = offsets[R];
  const rowsOf = (i: number) => offsets[i + 1] - offsets[i];
  const device = model.device;
  const zeros = (shape: number[]) => Tensor.zeros(shape, { device });
  const ints = (a: ArrayLike<number>) => Tensor.from(Int32Array.from(a), [a.length], { device });
  let x = zeros([N, C]);
  let xNext = zeros([N, C]);
  using _swap = { [Symbol.dispose]: () => (x.dispose(), xNext.dispose()) };
  using mean = zeros([N, C]);
  using eps = zeros([N, C]);
  using vGuided = zeros([N, C]);
  using offT = ints(offsets);
  using keys = ints(requests.map((r) => r.key));
  using sigma = zeros([R]);
  using sigmaNext = zeros([R]);
  using stdT = zeros([R]);
  using logpT = zeros([R]);

  // x_1: flow_noise at step 0 (the SDE noise of step i uses step i + 1), or the given noise
  flowNoise(x, offT, keys, o.seed, 0);
  if (o.noise) {
    const host = x.download();
    o.noise.forEach((n, i) => {
      if (!n) return;
      const want = rowsOf(i) * C;
      if (n.length !== want) throw new RangeError(`sampleBatch: option 'noise' of request ${i} expected ${want} floats (${rowsOf(i)} tokens x ${C} channels), received ${n.length}`);
      host.set(n, offsets[i] * C);
    });
    x.upload(host);
  }
  const records: StepRecord[][] = requests.map(() => []);

  // The pass layout, per guidance state: the noise segments of every (context, request) pair in
  // context order (the batch's samples are sorted), the rows of x each segment's latents gather,
  // and per context kind the rows of the pass's velocities that go back to each request's rows.
  const layouts = new Map<boolean, PassLayout>();
  const layoutFor = (active: boolean): PassLayout => {
    let l = layouts.get(active);
    if (l) return l;
    const kinds: ContextKind[] = active ? ['full', 'noText', 'noImage'] : ['full'];
    const pairs: { id: number; kind: number; r: number }[] = [];
    kinds.forEach((kind, ki) => requests.forEach((_, r) => pairs.push({ id: groupOf[r].contexts.find((q) => q.kind === kind)!.id, kind: ki, r })));
    // by context (a stable sort: within one, the requests in their order)
    pairs.sort((p, q) => p.id - q.id);
    const batch = packSamples(
      pairs.map((p) => noiseSample(ctx, groupOf[p.r].contexts.find((q) => q.id === p.id)!.position, grids[p.r].rows, grids[p.r].cols, new Float32Array(rowsOf(p.r) * C), 1)),
    );
    pairs.forEach((p, i) => (batch.seg[i * 4 + 3] = p.id));
    const gather: number[] = [];
    const back = kinds.map(() => new Int32Array(N));
    for (const p of pairs) {
      for (let j = 0; j < rowsOf(p.r); j++) {
        back[p.kind][offsets[p.r] + j] = gather.length;
        gather.push(offsets[p.r] + j);
      }
    }
    l = { kinds: kinds.length, batch, gather: ints(gather), back: back.map(ints), latents: zeros([gather.length, C]), vel: zeros([gather.length, C]), v: kinds.map(() => zeros([N, C])) };
    layouts.set(active, l);
    return l;
  };
  using _layouts = { [Symbol.dispose]: () => layouts.forEach((l) => [l.gather, ...l.back, l.latents, l.vel, ...l.v].forEach((t) => t.dispose())) };

  for (let i = 0; i + 1 < ts.length; i++) {
    const t = ts[i];
    const active = guidanceActive(o, t);
    const L = layoutFor(active);
    L.batch.latentT.fill(t);
    // one cached pass over every noise segment: x gathered into the pass's latent rows, velocities back per kind
    embeddingForward(L.gather, x, L.latents);
    await model.infer(cache, L.batch, { latents: L.latents, velocitiesOut: L.vel });
    for (let k = 0; k < L.kinds; k++) embeddingForward(L.back[k], L.vel, L.v[k]);
    let v = L.v[0];
    if (active) {
      if (o.renorm === 'global') {
        // the global renorm's norms are per request: combined request by request in host memory
        const [a, b, c] = L.v.map((t) => t.download());
        const out = new Float32Array(N * C);
        for (let r = 0; r < R; r++) {
          const sl = (arr: Float32Array) => Tensor.from(arr.slice(offsets[r] * C, offsets[r + 1] * C), [rowsOf(r), C], { device: 'cpu' });
          using ta = sl(a);
          using tb = sl(b);
          using tc = sl(c);
          using td = Tensor.zeros([rowsOf(r), C], { device: 'cpu' });
          cfgCombine(ta, tb, tc, td, o.cfgText, o.cfgImg, o.renorm, o.renormMin);
          out.set(td.download(), offsets[r] * C);
        }
        vGuided.upload(out);
      } else cfgCombine(L.v[0], L.v[1], L.v[2], vGuided, o.cfgText, o.cfgImg, o.renorm, o.renormMin);
      v = vGuided;
    }
    const inWindow = o.sde !== undefined && i >= o.sde.start && i < o.sde.start + o.sde.size;
    const mode: FlowMode = inWindow ? o.sde!.mode : 'ode';
    sigma.upload(new Float32Array(R).fill(t));
    sigmaNext.upload(new Float32Array(R).fill(ts[i + 1]));
    if (inWindow) flowNoise(eps, offT, keys, o.seed, i + 1);
    flowStep(
      { x, v, eps: inWindow ? eps : undefined, xNext, mean, offsets: offT, sigma, sigmaNext, std: stdT, logp: logpT },
      { mode, noiseLevel: inWindow ? o.sde!.noiseLevel : undefined, sigmaMax: inWindow && o.sde!.mode === 'sde' ? ts[1] : undefined },
    );
    if (o.record) {
      const xs = x.download();
      const xn = xNext.download();
      const m = mean.download();
      const sd = stdT.download();
      const lp = logpT.download();
      requests.forEach((_, r) => {
        const sl = (arr: Float32Array) => arr.slice(offsets[r] * C, offsets[r + 1] * C);
        records[r].push({ t, tNext: ts[i + 1], mode, x: sl(xs), mean: sl(m), xNext: sl(xn), std: sd[r], logp: lp[r] });
      });
    }
    [x, xNext] = [xNext, x];
  }
  const xs = x.download();
  const outputs = requests.map((_, r): BatchEditOutput => {
    const latents = xs.slice(offsets[r] * C, offsets[r + 1] * C);
    const out: BatchEditOutput = { image: ctx.codec.decode({ rows: grids[r].rows, cols: grids[r].cols, dim: C, data: latents }), latents };
    if (o.record) out.steps = records[r];
    return out;
  });
  const t2 = performance.now();
  return { outputs, contexts: prefix.length, seconds: { prefill: (t1 - t0) / 1000, denoise: (t2 - t1) / 1000 } };
}
