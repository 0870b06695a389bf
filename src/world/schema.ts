// zod schemas of the world's data: scenes, ops, facts. The manifest reader validates every line
// with these; the compile-time checks at the bottom keep them and the TypeScript types in step.

import { z } from 'zod';
import { CATEGORY_NAMES, UNDERSTANDING_SKILLS } from './categories.js';
import { MOTIONS, REGIONS, RELATIONS, type ThinkingFact } from './edit.js';
import { type EditOp, META_TASKS } from './ops.js';
import { COLOR_NAMES, TONE_NAMES } from './palette.js';
import { BACKGROUND_PATTERNS, type Scene, sceneProblems, SHAPES, SIZES, STYLES, TEXTURES } from './scene.js';

const int = z.number().int();
const color = z.enum(COLOR_NAMES);
const shape = z.enum(SHAPES);
const size = z.enum(SIZES);
const texture = z.enum(TEXTURES);
const style = z.enum(STYLES);
const tone = z.enum(TONE_NAMES);
const point = z.object({ x: z.number(), y: z.number() }).strict();

export const CameraSchema = z.object({ x: z.number(), y: z.number(), width: z.number().positive(), height: z.number().positive() }).strict();
export const BackgroundSchema = z.object({ pattern: z.enum(BACKGROUND_PATTERNS), color, color2: color }).strict();

export const SceneObjectSchema = z
  .object({ id: int.nonnegative(), shape, text: z.string().length(1).optional(), color, size, texture, x: int, y: int })
  .strict();

/** "objects[2].text" -> ['objects', 2, 'text'] */
export function fieldPath(field: string): (string | number)[] {
  return field
    .split(/\.|\[(\d+)\]/)
    .filter((s) => s !== undefined && s !== '')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export const SceneSchema = z
  .object({
    world: z.object({ width: int.positive(), height: int.positive() }).strict(),
    camera: CameraSchema,
    background: BackgroundSchema,
    style,
    tone,
    objects: z.array(SceneObjectSchema).max(64),
  })
  .strict()
  .superRefine((scene, ctx) => {
    for (const p of sceneProblems(scene)) ctx.addIssue({ code: 'custom', message: p.message, path: fieldPath(p.field) });
  });

const id = int.nonnegative();
const ReplaceSchema = z.discriminatedUnion('attribute', [
  z.object({ op: z.literal('replace'), id, attribute: z.literal('shape'), from: shape, to: shape, text: z.string().length(1).optional() }).strict(),
  z.object({ op: z.literal('replace'), id, attribute: z.literal('text'), from: z.string(), to: z.string().length(1) }).strict(),
  z.object({ op: z.literal('replace'), id, attribute: z.literal('color'), from: color, to: color }).strict(),
  z.object({ op: z.literal('replace'), id, attribute: z.literal('texture'), from: texture, to: texture }).strict(),
  z.object({ op: z.literal('replace'), id, attribute: z.literal('size'), from: size, to: size }).strict(),
]);
const ReplaceGlobalSchema = z.discriminatedUnion('attribute', [
  z.object({ op: z.literal('replace_global'), attribute: z.literal('background'), from: BackgroundSchema, to: BackgroundSchema }).strict(),
  z.object({ op: z.literal('replace_global'), attribute: z.literal('style'), from: style, to: style }).strict(),
  z.object({ op: z.literal('replace_global'), attribute: z.literal('tone'), from: tone, to: tone }).strict(),
]);

export const EditOpSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('add'), object: SceneObjectSchema }).strict(),
  z.object({ op: z.literal('remove'), id }).strict(),
  ReplaceSchema,
  ReplaceGlobalSchema,
  z.object({ op: z.literal('move'), id, from: point, to: point }).strict(),
  z.object({ op: z.literal('camera'), from: CameraSchema, to: CameraSchema }).strict(),
]);

const ids = z.array(id);
export const ThinkingFactSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('identify'), id, description: z.string() }).strict(),
  z.object({ kind: z.literal('locate'), id, region: z.enum(REGIONS), center: point }).strict(),
  z.object({ kind: z.literal('count'), what: z.string(), ids, value: int.nonnegative() }).strict(),
  z.object({ kind: z.literal('target_count'), what: z.string(), value: int.nonnegative() }).strict(),
  z.object({ kind: z.literal('read'), id, text: z.string() }).strict(),
  z.object({ kind: z.literal('relation'), a: id, relation: z.enum(RELATIONS), b: id }).strict(),
  z.object({ kind: z.literal('physics'), id, motion: z.enum(MOTIONS), distance: z.number().nonnegative(), stop: z.string() }).strict(),
  z.object({ kind: z.literal('temporal'), rule: z.string(), steps: int.positive() }).strict(),
  z.object({ kind: z.literal('cause'), cause: z.string(), effect: z.string() }).strict(),
  z.object({ kind: z.literal('rule'), rule: z.string(), matches: ids }).strict(),
  z.object({ kind: z.literal('camera'), motion: z.string(), entering: ids, leaving: ids }).strict(),
  z.object({ kind: z.literal('global'), attribute: z.enum(['background', 'style', 'tone']), from: z.string(), to: z.string() }).strict(),
]);

export const CategorySchema = z.enum(CATEGORY_NAMES);
export const MetaTaskSchema = z.enum(META_TASKS);
export const UnderstandingSkillSchema = z.enum(UNDERSTANDING_SKILLS);

// Compile-time agreement between schemas and hand-written types (both directions).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sceneAgrees: Same<z.infer<typeof SceneSchema>, Scene> = true;
const opAgrees: Same<z.infer<typeof EditOpSchema>, EditOp> = true;
const factAgrees: Same<z.infer<typeof ThinkingFactSchema>, ThinkingFact> = true;
void sceneAgrees;
void opAgrees;
void factAgrees;
