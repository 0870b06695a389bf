// The manifest: JSONL, one edit per line (DESIGN.md section 7): source image path, instruction,
// category, optional target image path, optional CoT, optional edited image (a model's output, for the
// judges); world data sets add the split and a `world`
// record (seed, source and target scenes, ops, meta-tasks, understanding, facts). Paths are
// relative to the manifest's folder. Readers validate every line and name the line and the field
// of the first bad one.

import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { applyOps, metaTaskOf, OpError } from './ops.js';
import { scenesEqual } from './scene.js';
import {
  CategorySchema, EditOpSchema, MetaTaskSchema, SceneSchema, ThinkingFactSchema, UnderstandingSkillSchema,
} from './schema.js';
import { SPLITS } from './splits.js';
import { QA_KINDS } from './understanding.js';

const path = z.string().min(1);

/** What the world adds to a manifest line. */
export const WorldRecordSchema = z
  .object({
    seed: z.number().int(),
    sourceScene: SceneSchema,
    targetScene: SceneSchema,
    ops: z.array(EditOpSchema).min(1),
    metaTasks: z.array(MetaTaskSchema),
    understanding: z.array(UnderstandingSkillSchema),
    facts: z.array(ThinkingFactSchema),
  })
  .strict()
  .superRefine((w, ctx) => {
    // The record must be self-consistent: meta-tasks from ops, target = ops applied to source.
    const metas = w.ops.map(metaTaskOf);
    if (JSON.stringify(metas) !== JSON.stringify(w.metaTasks)) {
      ctx.addIssue({ code: 'custom', path: ['metaTasks'], message: `expected ${JSON.stringify(metas)} (one per op)` });
    }
    try {
      if (!scenesEqual(applyOps(w.sourceScene, w.ops), w.targetScene)) {
        ctx.addIssue({ code: 'custom', path: ['targetScene'], message: 'differs from ops applied to sourceScene' });
      }
    } catch (err) {
      if (!(err instanceof OpError)) throw err;
      ctx.addIssue({ code: 'custom', path: ['ops', err.index], message: err.message });
    }
  });

/** Any editing manifest line (real data sets too): the fields of DESIGN.md section 7. */
export const ManifestLineSchema = z
  .object({
    id: z.string().min(1).optional(),
    source: path,
    instruction: z.string().min(1),
    category: z.string().min(1),
    target: path.optional(),
    cot: z.string().optional(),
    /** an edited image to judge (`metacot judge score`): a model's output for this line */
    edited: path.optional(),
    split: z.enum(SPLITS).optional(),
    world: WorldRecordSchema.optional(),
  })
  .strict();
export type ManifestLine = z.infer<typeof ManifestLineSchema>;

/** A line written by `metacot world generate`: everything present, category one of the 21. */
export const WorldManifestLineSchema = ManifestLineSchema.extend({
  id: z.string().min(1),
  category: CategorySchema,
  target: path,
  split: z.enum(SPLITS),
  world: WorldRecordSchema,
}).strict();
export type WorldManifestLine = z.infer<typeof WorldManifestLineSchema>;

/** A line of understanding.jsonl: one question about a source image. */
export const QaLineSchema = z
  .object({
    id: z.string().min(1),
    image: path,
    sample: z.string().min(1),
    kind: z.enum(QA_KINDS),
    question: z.string().min(1),
    answer: z.string(),
    ids: z.array(z.number().int().nonnegative()),
    split: z.enum(SPLITS),
  })
  .strict();
export type QaLine = z.infer<typeof QaLineSchema>;

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${file} line ${line}: ${field ? `field "${field}"` : 'record'}: ${detail}`);
    this.name = 'ManifestError';
  }
}

/** ['world', 'ops', 2, 'to'] -> "world.ops[2].to" */
export function formatPath(p: readonly PropertyKey[]): string {
  let s = '';
  for (const k of p) s += typeof k === 'number' ? `[${k}]` : s === '' ? String(k) : `.${String(k)}`;
  return s;
}

function valueAt(root: unknown, p: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of p) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function short(v: unknown): string {
  const s = v === undefined ? 'nothing' : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Parses JSONL with a schema: blank lines are skipped, every other line must be a JSON object that
 * passes. Throws ManifestError for the first bad line, naming its 1-based number and field.
 */
export function parseJsonl<S extends z.ZodType>(text: string, schema: S, file = 'manifest'): z.infer<S>[] {
  const out: z.infer<S>[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new ManifestError(file, i + 1, '', `expected a JSON object, got invalid JSON (${(err as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ManifestError(file, i + 1, '', `expected a JSON object, got ${short(value)}`);
    }
    const result = schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      let p = issue.path;
      let message = issue.message;
      if (issue.code === 'unrecognized_keys') {
        p = [...p, issue.keys[0]];
        message = `unexpected field (allowed: the fields of the manifest format)`;
      }
      const got = /received|got /.test(message) ? '' : `, got ${short(valueAt(value, p))}`;
      throw new ManifestError(file, i + 1, formatPath(p), `${message}${got}`);
    }
    out.push(result.data);
  });
  return out;
}

export function parseManifest(text: string, file = 'manifest.jsonl'): ManifestLine[] {
  return parseJsonl(text, ManifestLineSchema, file);
}

export function parseWorldManifest(text: string, file = 'manifest.jsonl'): WorldManifestLine[] {
  return parseJsonl(text, WorldManifestLineSchema, file);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`manifest: cannot read ${file}: ${(err as Error).message}`);
  }
}

export async function readManifest(file: string): Promise<ManifestLine[]> {
  return parseManifest(await readText(file), basename(file));
}

/** Reads a world manifest, optionally keeping one split. */
export async function readWorldManifest(file: string, opts: { split?: (typeof SPLITS)[number] } = {}): Promise<WorldManifestLine[]> {
  const lines = parseWorldManifest(await readText(file), basename(file));
  return opts.split ? lines.filter((l) => l.split === opts.split) : lines;
}

export async function readQa(file: string): Promise<QaLine[]> {
  return parseJsonl(await readText(file), QaLineSchema, basename(file));
}
