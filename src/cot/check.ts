// `metacot cot check`: parse every CoT of a manifest, validate it, apply it to the source scene
// (world lines) and count how many parse, how many are consistent, and how many give exactly the
// target scene.

import type { Edit } from '../world/edit.js';
import type { ManifestLine } from '../world/manifest.js';
import { canonicalScene, type Scene, scenesEqual } from '../world/scene.js';
import { CotApplyError, impliedScene } from './apply.js';
import { type CotVariant } from './grammar.js';
import { CotTypeError } from './ops.js';
import { tryParseCot } from './parse.js';
import { formatProblems, validateCot } from './validate.js';

/** The world's Edit from a world manifest line (what the builder reads). */
export function editOfLine(line: ManifestLine): Edit {
  const w = line.world;
  if (!w) throw new RangeError(`editOfLine: line ${line.id ?? '(no id)'} has no world record`);
  return {
    category: line.category as Edit['category'],
    instruction: line.instruction,
    ops: w.ops,
    metaTasks: w.metaTasks,
    understanding: w.understanding,
    facts: w.facts,
    source: w.sourceScene,
    target: w.targetScene,
  };
}

/** Same picture content: equal globals and camera, and the same objects up to their ids and draw order. */
export function sameContent(a: Scene, b: Scene): boolean {
  const key = (s: Scene) => {
    const c = canonicalScene(s);
    const objects = c.objects.map(({ id: _id, ...rest }) => JSON.stringify(rest)).sort();
    return JSON.stringify({ ...c, objects });
  };
  return key(a) === key(b);
}

export interface CheckFailure {
  /** The line's id, else "line N". */
  id: string;
  stage: 'parse' | 'validate' | 'apply' | 'target';
  message: string;
}

export interface CategoryCheck {
  total: number;
  parsed: number;
  valid: number;
  exact: number;
}

export interface CheckSummary {
  /** Lines in the manifest. */
  total: number;
  /** Lines that carry a CoT. */
  withCot: number;
  parsed: number;
  /** Parsed and consistent (summary, composition, and for world lines the source scene). */
  valid: number;
  /** World lines whose CoT applied to the source gives the target scene. */
  exact: number;
  /** World lines with a CoT: the denominator of `exact`. */
  checkable: number;
  variants: Record<CotVariant, number>;
  categories: Record<string, CategoryCheck>;
  /** The first failures (at most `maxFailures`), and how many there were in all. */
  failures: CheckFailure[];
  failureCount: number;
}

export interface CheckOptions {
  maxFailures?: number;
}

export function checkManifestLines(lines: readonly ManifestLine[], opts: CheckOptions = {}): CheckSummary {
  const max = opts.maxFailures ?? 20;
  const s: CheckSummary = {
    total: lines.length,
    withCot: 0,
    parsed: 0,
    valid: 0,
    exact: 0,
    checkable: 0,
    variants: { none: 0, think: 0, triplet: 0, meta: 0 },
    categories: {},
    failures: [],
    failureCount: 0,
  };
  const fail = (f: CheckFailure) => {
    s.failureCount++;
    if (s.failures.length < max) s.failures.push(f);
  };
  lines.forEach((line, i) => {
    if (line.cot === undefined) return;
    const id = line.id ?? `line ${i + 1}`;
    const cat = (s.categories[line.category] ??= { total: 0, parsed: 0, valid: 0, exact: 0 });
    s.withCot++;
    cat.total++;
    const world = line.world;
    if (world) s.checkable++;
    const r = tryParseCot(line.cot, { mode: world ? 'world' : 'open' });
    if (!r.ok) {
      fail({ id, stage: 'parse', message: r.error.message });
      return;
    }
    s.parsed++;
    cat.parsed++;
    s.variants[r.parsed.cot.variant]++;
    const problems = validateCot(r.parsed, { category: line.category, source: world?.sourceScene });
    if (problems.length === 0) {
      s.valid++;
      cat.valid++;
    } else if (r.parsed.cot.variant !== 'none') {
      fail({ id, stage: 'validate', message: formatProblems(problems) });
    }
    if (!world) return;
    let implied: Scene;
    try {
      implied = impliedScene(world.sourceScene, r.parsed.cot);
    } catch (err) {
      if (!(err instanceof CotApplyError) && !(err instanceof CotTypeError)) throw err;
      fail({ id, stage: 'apply', message: err.message });
      return;
    }
    // A traversal names ids exactly; a think description names looks and places, not ids.
    const exact = r.parsed.cot.variant === 'think' ? sameContent(implied, world.targetScene) : scenesEqual(implied, world.targetScene);
    if (exact) {
      s.exact++;
      cat.exact++;
    } else if (r.parsed.cot.variant !== 'none') {
      fail({ id, stage: 'target', message: 'the CoT applied to the source scene differs from the target scene' });
    }
  });
  return s;
}
