// The scene judges of the built-in world (exact, no model): `gt` scores the edited image against the
// ground-truth target scene, `cec` against the scene the CoT implies (its operations bound to the
// source scene and applied, src/cot/apply.ts) — the CoT-Editing Consistency reward with the exact
// scorer as its judge. Scores are the scorer's: Ins, Con, Nat, Art and Overall on the 0-10 scale
// (src/world/score.ts). A CEC item whose CoT is missing, does not parse or does not apply to the
// source scores 0, with the reason in `cotError`.
import { CotApplyError, impliedScene } from '../cot/apply.js';
import { CotTypeError } from '../cot/ops.js';
import { tryParseCot } from '../cot/parse.js';
import { scoreEdit } from '../world/score.js';
import type { Scene } from '../world/scene.js';
import { type Judge, type JudgeIdentity, type JudgeItem, type ScoreOptions, type Verdict, failed } from './types.js';

/** Version of the exact scorer as a judge: bump when src/world/score.ts changes what it returns. */
export const SCENE_JUDGE_VERSION = 'score-v1';

export type SceneJudgeKind = 'gt' | 'cec';

function exactVerdict(item: JudgeItem, source: Scene, target: Scene, reason: string): Verdict {
  const s = scoreEdit(item.edited, source, target);
  return {
    id: item.id,
    ok: true,
    overall: s.overall,
    scores: { ins: s.ins, con: s.con, nat: s.nat, art: s.art },
    reasons: [`${reason}: Ins ${s.ins.toFixed(2)}, Con ${s.con.toFixed(2)}, Nat ${s.nat.toFixed(2)}, Art ${s.art.toFixed(2)}`],
  };
}

/** The scene a CoT implies for a source scene, or why there is none. */
export function cotScene(source: Scene, cot: string | undefined): { scene: Scene } | { error: string } {
  if (cot === undefined || cot.trim() === '') return { error: 'no CoT to check the edit against' };
  const r = tryParseCot(cot, { mode: 'world' });
  if (!r.ok) return { error: `the CoT does not parse: ${r.error.message}` };
  try {
    return { scene: impliedScene(source, r.parsed.cot) };
  } catch (e) {
    if (e instanceof CotApplyError || e instanceof CotTypeError) return { error: `the CoT does not apply to the source: ${e.message}` };
    throw e;
  }
}

export class SceneJudge implements Judge {
  readonly identity: JudgeIdentity;
  constructor(readonly kind: SceneJudgeKind) {
    if (kind !== 'gt' && kind !== 'cec') throw new Error(`SceneJudge: argument 'kind' expected 'gt' | 'cec', received ${JSON.stringify(kind)}`);
    this.identity = { kind, version: SCENE_JUDGE_VERSION };
  }

  scoreOne(item: JudgeItem): Verdict {
    if (!item.sourceScene) return failed(item.id, 'missing-input', `${this.kind} judge: item '${item.id}' has no source scene (the scene judges score world edits)`);
    if (this.kind === 'gt') {
      if (!item.targetScene) return failed(item.id, 'missing-input', `gt judge: item '${item.id}' has no target scene`);
      return exactVerdict(item, item.sourceScene, item.targetScene, 'against the target scene');
    }
    const implied = cotScene(item.sourceScene, item.cot);
    if ('error' in implied) return { id: item.id, ok: true, overall: 0, scores: { ins: 0, con: 0, nat: 0, art: 0 }, reasons: [implied.error], cotError: implied.error };
    return exactVerdict(item, item.sourceScene, implied.scene, 'against the CoT-implied scene');
  }

  async score(items: readonly JudgeItem[], opts: ScoreOptions = {}): Promise<Verdict[]> {
    return items.map((item, i) => {
      const v = this.scoreOne(item);
      opts.onItem?.(i + 1, v);
      return v;
    });
  }
}
