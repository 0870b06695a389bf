// The per-edit checks of the round-trip suite, shared by the test file and its worker threads:
// for each variant build -> print -> parse is the identity (and print(parse(text)) === text), the
// traversal applied to the source is exactly the target (meta, triplet), the think description
// gives the target's content, and the validator finds nothing wrong.
import { isDeepStrictEqual } from 'node:util';
import { impliedScene } from '../../src/cot/apply.js';
import { buildCot } from '../../src/cot/build.js';
import { sameContent } from '../../src/cot/check.js';
import { COT_VARIANTS } from '../../src/cot/grammar.js';
import { parseCotWithSpans } from '../../src/cot/parse.js';
import { printCot } from '../../src/cot/print.js';
import { validateCot } from '../../src/cot/validate.js';
import type { CategoryName } from '../../src/world/categories.js';
import { hashSeed } from '../../src/world/rng.js';
import { generateEdit } from '../../src/world/sample.js';
import { scenesEqual } from '../../src/world/scene.js';

export interface CategoryResult {
  category: CategoryName;
  edits: number;
  /** Per variant: edits whose round trip was the identity. */
  identity: Record<string, number>;
  /** Per variant: edits whose CoT-implied scene was the target (exactly for meta/triplet, by content for think). */
  exact: Record<string, number>;
  valid: Record<string, number>;
  failures: string[];
}

export function checkCategory(category: CategoryName, n: number, seed = 1): CategoryResult {
  const r: CategoryResult = { category, edits: 0, identity: {}, exact: {}, valid: {}, failures: [] };
  for (const v of COT_VARIANTS) r.identity[v] = r.exact[v] = r.valid[v] = 0;
  const fail = (msg: string) => {
    if (r.failures.length < 5) r.failures.push(msg);
  };
  for (let i = 0; i < n; i++) {
    const { edit } = generateEdit(category, hashSeed('cot-roundtrip', seed, category, i));
    r.edits++;
    for (const v of COT_VARIANTS) {
      try {
        const cot = buildCot(edit, v);
        const text = printCot(cot);
        const parsed = parseCotWithSpans(text);
        if (isDeepStrictEqual(parsed.cot, cot) && printCot(parsed.cot) === text) r.identity[v]++;
        else fail(`${category} #${i} ${v}: round trip differs: ${text}`);
        if (validateCot(parsed, { category, source: edit.source }).length === 0) r.valid[v]++;
        else fail(`${category} #${i} ${v}: ${JSON.stringify(validateCot(parsed, { category, source: edit.source }))}`);
        const implied = impliedScene(edit.source, parsed.cot);
        const exact = v === 'think' ? sameContent(implied, edit.target) : scenesEqual(implied, edit.target);
        if (exact) r.exact[v]++;
        else if (v !== 'none') fail(`${category} #${i} ${v}: implied scene differs from the target: ${text}`);
      } catch (err) {
        fail(`${category} #${i} ${v}: ${(err as Error).stack}`);
      }
    }
  }
  return r;
}
