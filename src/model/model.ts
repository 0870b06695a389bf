// MotModel: the TypeScript face of the native MoT model. Parameters and gradients are ordinary
// Tensors laid out by the native layout (one per entry, same order), initialised here with the
// Philox randn op (stream = parameter index), so a seed gives the same model on every backend.
import type { Device, NativeKvCache, NativeModelHandle, NativeParamSpec } from '../native/binding.js';
import { MetacotError, argError, withCallerStack } from '../native/errors.js';
import { tensorArg } from '../ops/validate.js';
import { loadBackend } from '../native/loader.js';
import { Tensor } from '../native/tensor.js';
import { fill, randn } from '../ops/elementwise.js';
import { BatchTensors, countKinds, type HostBatch } from './batch.js';
import { type ModelConfig, nativeConfig, paramCount } from './config.js';

export interface ForwardOptions {
  wCe?: number;
  wMse?: number;
  /** also return logits at CE rows [nCe, V] */
  logits?: boolean;
  /** also return velocities at noisy latent rows [nNoisy, C] */
  velocities?: boolean;
}

export interface ForwardResult {
  ce: number;
  mse: number;
  loss: number;
  nCe: number;
  nMse: number;
  logits?: Float32Array;
  velocities?: Float32Array;
}

/** forwardHeads' outputs, on the model's device. */
export interface HeadOutputs {
  logits: Tensor;
  velocities: Tensor;
  nCe: number;
  nNoisy: number;
}

export interface InferOptions {
  /** append the batch's keys/values to the cache (prefill, decoding); false for denoising passes */
  write?: boolean;
  /** the batch's first segment continues the cache's last causal segment (token-by-token decoding) */
  extendLast?: boolean;
  /** return the logits of the batch's last text token */
  lastLogits?: boolean;
  /** return the velocities of the batch's noisy latent tokens */
  velocities?: boolean;
  /** write the velocities into this tensor ([nNoisy, C], on the model's device or in host memory) instead */
  velocitiesOut?: Tensor;
  /** the batch's latent table ([Nl, C]) from this tensor on the model's device instead of batch.latents */
  latents?: Tensor;
  /** return the logits of the last token of each of the batch's segments (each a text token): [S_b, V] */
  segmentLogits?: boolean;
}

export interface InferResult {
  cached: number;
  lastLogits?: Float32Array;
  /** [S_b, V], with opts.segmentLogits */
  segmentLogits?: Float32Array;
  velocities?: Float32Array;
}

/** Keys and values of processed tokens (one or more samples, kept apart by their segment rows' sample ids); `clone()` forks it. */
export class KvCache implements Disposable {
  /** @internal */
  readonly handle: NativeKvCache;
  constructor(handle?: NativeKvCache) {
    this.handle = handle ?? new (loadBackend().binding.KvCache)();
  }
  get length(): number {
    return this.handle.length;
  }
  clone(): KvCache {
    return new KvCache(this.handle.clone());
  }
  /** segment rows [start, end, mode, sample] over the cached tokens */
  segments(): number[] {
    return this.handle.segments();
  }
  dispose(): void {
    this.handle.clear();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

export function modelLayout(config: ModelConfig): NativeParamSpec[] {
  return loadBackend().binding.modelLayout(nativeConfig(config));
}

export class MotModel implements Disposable {
  readonly config: ModelConfig;
  readonly layout: NativeParamSpec[];
  readonly params: Tensor<'f32'>[];
  readonly grads: Tensor<'f32'>[] | null;
  /** where the parameters live and the model runs */
  readonly device: Device;
  private handle: NativeModelHandle;
  private disposedFlag = false;
  private frozen = { und: false, gen: false };

  private constructor(config: ModelConfig, layout: NativeParamSpec[], params: Tensor<'f32'>[], grads: Tensor<'f32'>[] | null) {
    this.config = config;
    this.device = params[0]?.device ?? 'cpu';
    this.layout = layout;
    this.params = params;
    this.grads = grads;
    this.handle = new (loadBackend().binding.Model)(
      nativeConfig(config),
      params.map((p) => p.handle),
      grads ? grads.map((g) => g.handle) : null,
    );
  }

  /**
   * A freshly initialised model (normal(0, 0.02) matrices, zero biases, unit norms, zero llm2vae) on
   * `device` (default 'cpu'; 'auto' = CUDA when the loaded backend is the CUDA one). The same seed
   * gives the same weights on either device (the Philox normals are the same).
   */
  static create(config: ModelConfig, opts: { seed?: number; grads?: boolean; device?: Device | 'auto' } = {}): MotModel {
    const layout = modelLayout(config);
    const seed = opts.seed ?? 0;
    const device = resolveDevice(opts.device ?? 'cpu', 'MotModel.create');
    const params: Tensor<'f32'>[] = [];
    const grads: Tensor<'f32'>[] = [];
    try {
      layout.forEach((s, i) => {
        const t = Tensor.zeros(s.shape, { dtype: 'f32', device });
        params.push(t);
        if (s.init === 'normal') randn(t, seed, i, 0, s.std);
        else if (s.init === 'ones') fill(t, 1);
        if (opts.grads !== false) grads.push(Tensor.zeros(s.shape, { dtype: 'f32', device }));
      });
      return new MotModel(config, layout, params, opts.grads === false ? null : grads);
    } catch (e) {
      for (const t of [...params, ...grads]) t.dispose();
      throw e;
    }
  }

  /** A model over given parameter tensors (e.g. from a checkpoint); takes ownership of them. */
  static fromParams(config: ModelConfig, params: Tensor<'f32'>[], opts: { grads?: boolean } = {}): MotModel {
    const layout = modelLayout(config);
    if (params.length !== layout.length)
      throw new MetacotError('E_ARG', `MotModel.fromParams: argument 'params' expected ${layout.length} tensors, received ${params.length}`);
    const device = params[0]?.device ?? 'cpu';
    const grads = opts.grads === false ? null : layout.map((s) => Tensor.zeros(s.shape, { dtype: 'f32', device }));
    return new MotModel(config, layout, params, grads);
  }

  /** A copy of this model's weights on another device (no gradients unless asked); this model is unchanged. */
  copyTo(device: Device, opts: { grads?: boolean } = {}): MotModel {
    this.live('copyTo');
    const params = this.params.map((p) => Tensor.from(p.download(), p.shape, { device, dtype: 'f32' }) as Tensor<'f32'>);
    return MotModel.fromParams(this.config, params, { grads: opts.grads ?? false });
  }

  get parameterCount(): number {
    return this.layout.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  }
  get formula(): ReturnType<typeof paramCount> {
    return paramCount(this.config);
  }

  private live(op: string): void {
    if (this.disposedFlag) throw new MetacotError('E_DISPOSED', `model.${op}: the model was disposed`);
  }

  /** Runs the forward of a packed batch (off the event loop); keeps activations for backward(). */
  async forward(batch: HostBatch | BatchTensors, opts: ForwardOptions = {}): Promise<ForwardResult> {
    this.live('forward');
    const site = new Error();
    const own = !(batch instanceof BatchTensors);
    const bt = batch instanceof BatchTensors ? batch : new BatchTensors(batch, this.config.vitPatchDim, this.config.latentChannels);
    let logits: Tensor | null = null;
    let vel: Tensor | null = null;
    try {
      if (opts.logits || opts.velocities) {
        const counts = own ? countKinds(batch as HostBatch) : null;
        const nce = counts ? counts.ce : countCe(bt);
        const nnoisy = counts ? counts.noisy : countNoisy(bt);
        if (opts.logits) logits = Tensor.zeros([nce, this.config.vocab], { device: 'cpu' });
        if (opts.velocities) vel = Tensor.zeros([nnoisy, this.config.latentChannels], { device: 'cpu' });
      }
      const r = await this.handle.forward(bt.native(), {
        wCe: opts.wCe ?? 1,
        wMse: opts.wMse ?? 1,
        logits: logits?.handle,
        velocities: vel?.handle,
      });
      const out: ForwardResult = { ...r };
      if (logits) out.logits = logits.toFloat32Array();
      if (vel) out.velocities = vel.toFloat32Array();
      return out;
    } catch (e) {
      throw withCallerStack(e, site);
    } finally {
      logits?.dispose();
      vel?.dispose();
      if (own) bt.dispose();
    }
  }

  /** Cached inference over new tokens (see native/model/mot.h MotModel::infer); the cache lives on the model's device. */
  async infer(cache: KvCache, batch: HostBatch, opts: InferOptions = {}): Promise<InferResult> {
    this.live('infer');
    const site = new Error();
    const bt = new BatchTensors(batch, this.config.vitPatchDim, this.config.latentChannels);
    let logits: Tensor | null = null;
    let vel: Tensor | null = null;
    let segLogits: Tensor | null = null;
    try {
      if (opts.lastLogits) logits = Tensor.zeros([this.config.vocab], { device: 'cpu' });
      if (opts.velocities && !opts.velocitiesOut) vel = Tensor.zeros([countKinds(batch).noisy, this.config.latentChannels], { device: 'cpu' });
      if (opts.segmentLogits) segLogits = Tensor.zeros([batch.seg.length / 4, this.config.vocab], { device: 'cpu' });
      for (const k of ['velocitiesOut', 'latents'] as const) {
        const t = opts[k];
        if (t === undefined) continue;
        tensorArg('model.infer', k, t);
        if (t.device !== this.device && (k === 'latents' || t.device !== 'cpu'))
          throw argError('model.infer', k, k === 'latents' ? `a tensor on the model's device (${this.device})` : `a tensor on the model's device (${this.device}) or in host memory`, t.device, 'E_DEVICE');
      }
      const r = await this.handle.infer(cache.handle, bt.native(), {
        write: opts.write ?? false,
        extendLast: opts.extendLast ?? false,
        lastLogits: logits?.handle,
        velocities: (opts.velocitiesOut ?? vel)?.handle,
        latents: opts.latents?.handle,
        segmentLogits: segLogits?.handle,
      });
      const out: InferResult = { cached: r.cached };
      if (segLogits) out.segmentLogits = segLogits.toFloat32Array();
      if (logits && r.hasLogits) out.lastLogits = logits.toFloat32Array();
      if (vel) out.velocities = vel.toFloat32Array();
      return out;
    } catch (e) {
      throw withCallerStack(e, site);
    } finally {
      logits?.dispose();
      vel?.dispose();
      segLogits?.dispose();
      bt.dispose();
    }
  }

  /**
   * The model's heads for a packed batch, with no loss: the logits at the CE rows (the tokens whose
   * ceTarget is >= 0, in sequence order) [nCe, V] and the velocities at the noisy latent tokens (in
   * sequence order) [nNoisy, C], as new tensors on the model's device (the caller disposes them). Keeps
   * the activations: `backward({ dlogits, dvel })` then takes any loss's gradients with respect to them.
   */
  async forwardHeads(batch: HostBatch): Promise<HeadOutputs> {
    this.live('forwardHeads');
    const site = new Error();
    const counts = countKinds(batch);
    const bt = new BatchTensors(batch, this.config.vitPatchDim, this.config.latentChannels);
    const logits = Tensor.zeros([counts.ce, this.config.vocab], { device: this.device });
    const velocities = Tensor.zeros([counts.noisy, this.config.latentChannels], { device: this.device });
    try {
      await this.handle.forward(bt.native(), { loss: false, logits: logits.handle, velocities: velocities.handle });
      return { logits, velocities, nCe: counts.ce, nNoisy: counts.noisy };
    } catch (e) {
      logits.dispose();
      velocities.dispose();
      throw withCallerStack(e, site);
    } finally {
      bt.dispose();
    }
  }

  /**
   * Accumulates gradients into `grads`: of the last forward's fused loss, or, with `grads`, from the
   * given gradients of the last forward's heads (tensors on the model's device shaped like
   * forwardHeads' outputs; an absent one counts as zero).
   */
  async backward(grads?: { dlogits?: Tensor; dvel?: Tensor }): Promise<void> {
    this.live('backward');
    const site = new Error();
    try {
      if (grads) {
        for (const [k, t] of Object.entries(grads)) {
          if (t === undefined) continue;
          tensorArg('model.backward', k, t);
          if (t.device !== this.device) throw argError('model.backward', k, `a tensor on the model's device (${this.device})`, t.device, 'E_DEVICE');
        }
        await this.handle.backward({ dlogits: grads.dlogits?.handle, dvel: grads.dvel?.handle });
      } else await this.handle.backward();
    } catch (e) {
      throw withCallerStack(e, site);
    }
  }

  zeroGrad(): void {
    this.live('zeroGrad');
    for (const g of this.grads ?? []) fill(g, 0);
  }

  /** Freezes an expert's parameters (und also covers the shared embedding / LM head). */
  setFrozen(f: { und?: boolean; gen?: boolean }): void {
    this.live('setFrozen');
    this.frozen = { und: f.und ?? this.frozen.und, gen: f.gen ?? this.frozen.gen };
    this.handle.setFrozen(this.frozen.und, this.frozen.gen);
  }
  get frozenExperts(): { und: boolean; gen: boolean } {
    return { ...this.frozen };
  }

  /** Indices of parameters that train under the current freezing. */
  trainableIndices(): number[] {
    return this.layout
      .map((s, i) => ({ s, i }))
      .filter(({ s }) => !(s.owner === 'gen' ? this.frozen.gen : this.frozen.und))
      .map(({ i }) => i);
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.handle.dispose();
    this.disposedFlag = true;
    for (const t of this.params) t.dispose();
    for (const t of this.grads ?? []) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function countCe(bt: BatchTensors): number {
  const t = bt.tensors.ceTargets;
  if (!t) return 0;
  return (t.download() as Int32Array).reduce((a, v) => a + (v >= 0 ? 1 : 0), 0);
}
function countNoisy(bt: BatchTensors): number {
  return (bt.tensors.kind.download() as Int32Array).reduce((a, v) => a + (v === 3 ? 1 : 0), 0);
}

/** 'auto' -> the loaded backend's device; 'cuda' where CUDA is not usable -> a coded error naming why. */
export function resolveDevice(device: Device | 'auto', op: string): Device {
  const backend = loadBackend();
  if (device === 'auto') return backend.device;
  if (device !== 'cpu' && device !== 'cuda') throw new MetacotError('E_DEVICE', `${op}: option 'device' expected 'cpu' | 'cuda' | 'auto', received ${String(device)}`);
  if (device === 'cuda' && backend.device !== 'cuda')
    throw new MetacotError('E_DEVICE', `${op}: option 'device' expected 'cpu' or 'auto' here (CUDA is not usable: ${backend.fallbackReasons.join('; ')}), received 'cuda'`);
  return device;
}
