// The judge layer that the RL trainer and the evaluator share (DESIGN.md sections 5-7, 9): a judge
// maps a batch of edits (source image, instruction, CoT, edited image, optional world metadata) to,
// per item, named sub-scores and an overall score on the 0-10 scale, the reasons, and a failure flag.
// A failed item (an endpoint that never answered, an answer that never parsed) has no score: it is
// counted and left out, never replaced by a guess. A judge's identity (kind, model, prompt version)
// names its calibration record and its cache entries.
import type { RgbImage } from '../world/image.js';
import type { Scene } from '../world/scene.js';

export interface JudgeItem {
  id: string;
  source: RgbImage;
  instruction: string;
  /** The CoT the edit was made with (the CEC judges read it; empty or absent: none). */
  cot?: string;
  edited: RgbImage;
  /** World edits: the exact scenes (the scene judges need them). */
  sourceScene?: Scene;
  targetScene?: Scene;
  category?: string;
}

export interface Verdict {
  id: string;
  /** false: the judge could not score this item (see failure); overall and scores are absent */
  ok: boolean;
  /** 0..10 */
  overall?: number;
  /** named sub-scores, 0..10 (VIEScore: ins, con, nat, art; CEC: task, target) */
  scores?: Record<string, number>;
  reasons: string[];
  failure?: { kind: FailureKind; message: string };
  /**
   * A CEC judge's CoT that did not parse or could not be applied to the source: the item is scored 0
   * (a valid verdict, the CoT is wrong) and this says why, so the count can be reported.
   */
  cotError?: string;
  /** from the on-disk cache, no request made */
  cached?: boolean;
}

export type FailureKind = 'missing-input' | 'endpoint' | 'timeout' | 'unparseable' | 'judge';

export interface JudgeIdentity {
  /** gt | cec | vlm-viescore | vlm-cec | sum */
  kind: string;
  /** the VLM's model name, when there is one */
  model?: string;
  /** version of the prompts (src/judge/prompts.ts), or of the scorer for the scene judges */
  version: string;
  /** the parts of a composed judge */
  parts?: { weight: number; judge: JudgeIdentity }[];
}

export interface Judge {
  readonly identity: JudgeIdentity;
  /** Scores a batch; the result has one verdict per item, in order. */
  score(items: readonly JudgeItem[], opts?: ScoreOptions): Promise<Verdict[]>;
}

export interface ScoreOptions {
  /** called after each item is judged */
  onItem?: (done: number, v: Verdict) => void;
}

/** A short, file-name-safe name of a judge identity: kind, model and version. */
export function identityName(id: JudgeIdentity): string {
  const own = [id.kind, id.model, id.version].filter((s) => s !== undefined && s !== '').join('@');
  const parts = id.parts?.map((p) => `${p.weight}x${identityName(p.judge)}`).join('+');
  return (parts ? `${own}(${parts})` : own).replace(/[^A-Za-z0-9@+().,_-]/g, '_');
}

export function failed(id: string, kind: FailureKind, message: string): Verdict {
  return { id, ok: false, reasons: [message], failure: { kind, message } };
}
