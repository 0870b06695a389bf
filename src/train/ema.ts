// Exponential moving average of the weights (native `add`: ema = decay*ema + (1-decay)*p).
import type { MotModel } from '../model/model.js';
import { Tensor } from '../native/tensor.js';
import { add } from '../ops/elementwise.js';

export class Ema implements Disposable {
  readonly weights: Tensor<'f32'>[];
  constructor(
    readonly model: MotModel,
    readonly decay: number,
  ) {
    if (!(decay >= 0 && decay < 1)) throw new Error(`Ema: argument 'decay' expected a number in [0, 1), received ${decay}`);
    this.weights = model.params.map((p) => {
      const t = Tensor.zeros(p.shape, { device: p.device }) as Tensor<'f32'>;
      add(p, p, t, 1, 0);
      return t;
    });
  }
  async update(): Promise<void> {
    await Promise.all(this.model.params.map((p, i) => add.async(this.weights[i], p, this.weights[i], this.decay, 1 - this.decay)));
  }
  load(values: Map<string, Float32Array>): void {
    this.model.layout.forEach((s, i) => {
      const v = values.get(s.name);
      if (!v) throw new Error(`Ema: checkpoint has no EMA tensor '${s.name}'`);
      this.weights[i].upload(v);
    });
  }
  dispose(): void {
    for (const t of this.weights) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}
