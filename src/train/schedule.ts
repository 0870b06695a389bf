// Learning-rate schedules: linear warmup, then constant or cosine decay to minLr.
//
// Steps are 0-based (the update about to be applied), T = totalSteps, W = warmupSteps:
//   warmup    step < W:  lr * (step + 1) / W          (the peak lr at step W - 1)
//   constant  step >= W: lr
//   cosine    step >= W: minLr + (lr - minLr) * (1 + cos(pi * p)) / 2, p = (step - d) / (T - 1 - d),
//             d = max(W - 1, 0): the decay starts at the peak (the last warmup step, or step 0) and
//             reaches minLr exactly at the last step T - 1. A run with no step after the peak
//             (T - 1 <= d) is at the peak throughout.
export interface ScheduleConfig {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  kind: 'constant' | 'cosine';
  minLr: number;
}

export function learningRate(s: ScheduleConfig, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const d = Math.max(s.warmupSteps - 1, 0);
  const span = s.totalSteps - 1 - d;
  if (span <= 0) return s.lr;
  const p = Math.min(1, (step - d) / span);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * p));
}
