// Learning-rate schedules: linear warmup, then constant or cosine decay to minLr.
export interface ScheduleConfig {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  kind: 'constant' | 'cosine';
  minLr: number;
}

export function learningRate(s: ScheduleConfig, step: number): number {
  // step is 0-based: the update about to be applied
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const p = Math.min(1, Math.max(0, (step - s.warmupSteps) / span));
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * p));
}
