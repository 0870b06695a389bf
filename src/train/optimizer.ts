// AdamW over a MotModel's trainable parameters: moments as native tensors, one fused native step with
// global grad-norm clipping. A non-finite gradient norm throws E_NAN and changes nothing.
import type { MotModel } from '../model/model.js';
import { Tensor } from '../native/tensor.js';
import { adamw } from '../ops/optim.js';

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  maxGradNorm: number;
}

export const DEFAULT_ADAMW: AdamWConfig = { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.0, maxGradNorm: 1.0 };

export class AdamW implements Disposable {
  readonly cfg: AdamWConfig;
  readonly m: Tensor<'f32'>[];
  readonly v: Tensor<'f32'>[];
  /** completed steps (the next update is step + 1) */
  step = 0;
  private gnorm: Tensor;

  constructor(
    readonly model: MotModel,
    cfg: Partial<AdamWConfig> = {},
  ) {
    this.cfg = { ...DEFAULT_ADAMW, ...cfg };
    // moments and the grad-norm cell live with the parameters (one fused step on their device)
    const device = model.device;
    this.gnorm = Tensor.zeros([1], { device });
    this.m = model.layout.map((s) => Tensor.zeros(s.shape, { device }) as Tensor<'f32'>);
    this.v = model.layout.map((s) => Tensor.zeros(s.shape, { device }) as Tensor<'f32'>);
  }

  /** One update with learning rate `lr` (default: the configured one); returns the pre-clip grad norm. */
  async update(lr = this.cfg.lr): Promise<number> {
    const grads = this.model.grads;
    if (!grads) throw new Error('AdamW.update: the model has no gradient buffers (created with grads: false)');
    const idx = this.model.trainableIndices();
    const slots = idx.map((i) => ({ p: this.model.params[i], g: grads[i], m: this.m[i], v: this.v[i], decay: this.model.layout[i].decay }));
    await adamw.async(slots, this.gnorm, this.step + 1, { ...this.cfg, lr });
    this.step += 1;
    return this.gnorm.toFloat32Array()[0];
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v, this.gnorm]) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
