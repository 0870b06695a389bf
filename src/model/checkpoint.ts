// Checkpoints in safetensors: weights ("model.<name>"), optional optimizer moments
// ("optim.m.<name>", "optim.v.<name>") and EMA weights ("ema.<name>"), and metadata holding the
// config, step, trainer/RNG state and tokenizer as JSON strings. Written atomically; loading and saving
// again gives the same bytes.
import type { AdamW } from '../train/optimizer.js';
import { Tensor } from '../native/tensor.js';
import { type ModelConfig, parseModelConfig } from './config.js';
import type { Device } from '../native/binding.js';
import { MotModel } from './model.js';
import { type StTensor, asFloat32, f32Tensor, loadSafetensors, saveSafetensors } from './safetensors.js';

export const CHECKPOINT_FORMAT = 'metacot-checkpoint-v1';

export interface CheckpointData {
  config: ModelConfig;
  /** parameter values in layout order */
  params: Map<string, Float32Array>;
  optimizer?: { step: number; m: Map<string, Float32Array>; v: Map<string, Float32Array>; cfg: Record<string, number> };
  ema?: Map<string, Float32Array>;
  step: number;
  /** trainer state (data order RNG, metrics cursor, ...): opaque JSON */
  state: unknown;
  tokenizer: unknown;
}

export interface SaveOptions {
  optimizer?: AdamW;
  ema?: Tensor<'f32'>[];
  step: number;
  state?: unknown;
  tokenizer?: unknown;
}

export function checkpointTensors(model: MotModel, opts: SaveOptions): { tensors: StTensor[]; metadata: Record<string, string> } {
  const tensors: StTensor[] = [];
  model.layout.forEach((s, i) => tensors.push(f32Tensor(`model.${s.name}`, s.shape, model.params[i].toFloat32Array())));
  if (opts.optimizer) {
    model.layout.forEach((s, i) => tensors.push(f32Tensor(`optim.m.${s.name}`, s.shape, opts.optimizer!.m[i].toFloat32Array())));
    model.layout.forEach((s, i) => tensors.push(f32Tensor(`optim.v.${s.name}`, s.shape, opts.optimizer!.v[i].toFloat32Array())));
  }
  if (opts.ema) model.layout.forEach((s, i) => tensors.push(f32Tensor(`ema.${s.name}`, s.shape, opts.ema![i].toFloat32Array())));
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(model.config),
    step: String(opts.step),
    state: JSON.stringify(opts.state ?? null),
    tokenizer: JSON.stringify(opts.tokenizer ?? null),
  };
  if (opts.optimizer) metadata.optimizer = JSON.stringify({ step: opts.optimizer.step, cfg: opts.optimizer.cfg });
  return { tensors, metadata };
}

export function saveCheckpoint(path: string, model: MotModel, opts: SaveOptions): void {
  const { tensors, metadata } = checkpointTensors(model, opts);
  saveSafetensors(path, tensors, metadata);
}

export function loadCheckpoint(path: string): CheckpointData {
  const { tensors, metadata } = loadSafetensors(path);
  if (metadata.format !== CHECKPOINT_FORMAT)
    throw new Error(`checkpoint '${path}': expected format ${CHECKPOINT_FORMAT}, received ${JSON.stringify(metadata.format ?? null)}`);
  const config = parseModelConfig(JSON.parse(metadata.config));
  const params = new Map<string, Float32Array>();
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  const ema = new Map<string, Float32Array>();
  for (const t of tensors) {
    const [head, ...rest] = t.name.split('.');
    if (head === 'model') params.set(rest.join('.'), asFloat32(t));
    else if (head === 'ema') ema.set(rest.join('.'), asFloat32(t));
    else if (head === 'optim' && rest[0] === 'm') m.set(rest.slice(1).join('.'), asFloat32(t));
    else if (head === 'optim' && rest[0] === 'v') v.set(rest.slice(1).join('.'), asFloat32(t));
    else throw new Error(`checkpoint '${path}': unexpected tensor '${t.name}'`);
  }
  const out: CheckpointData = {
    config,
    params,
    step: Number(metadata.step),
    state: JSON.parse(metadata.state ?? 'null'),
    tokenizer: JSON.parse(metadata.tokenizer ?? 'null'),
  };
  if (metadata.optimizer) {
    const o = JSON.parse(metadata.optimizer) as { step: number; cfg: Record<string, number> };
    out.optimizer = { step: o.step, cfg: o.cfg, m, v };
  }
  if (ema.size) out.ema = ema;
  return out;
}

/** A model holding the checkpoint's weights (checked name by name and shape by shape against the layout). */
export function modelFromCheckpoint(
  ck: CheckpointData,
  opts: { grads?: boolean; weights?: 'model' | 'ema'; device?: Device | 'auto' } = {},
): MotModel {
  const model = MotModel.create(ck.config, { grads: opts.grads, device: opts.device });
  try {
    const src = opts.weights === 'ema' ? ck.ema : ck.params;
    if (!src) throw new Error('checkpoint: no EMA weights stored');
    loadInto(model.params, model, src, 'model');
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

export function loadInto(dst: Tensor<'f32'>[], model: MotModel, src: Map<string, Float32Array>, what: string): void {
  model.layout.forEach((s, i) => {
    const a = src.get(s.name);
    const n = s.shape.reduce((x, y) => x * y, 1);
    if (!a) throw new Error(`checkpoint: ${what} tensor '${s.name}' is missing`);
    if (a.length !== n) throw new Error(`checkpoint: ${what} tensor '${s.name}' expected ${n} elements [${s.shape.join(', ')}], received ${a.length}`);
    dst[i].upload(a);
  });
}

/** Restores optimizer moments and step from a checkpoint. */
export function restoreOptimizer(opt: AdamW, ck: CheckpointData): void {
  if (!ck.optimizer) throw new Error('checkpoint: no optimizer state stored');
  loadInto(opt.m, opt.model, ck.optimizer.m, 'optimizer m');
  loadInto(opt.v, opt.model, ck.optimizer.v, 'optimizer v');
  opt.step = ck.optimizer.step;
}
