// The annotator's prompt: the project's CoT grammar explained to a chat model, with a worked
// example from the synthetic world, and the per-edit request. Kept apart from the annotator so the
// wording can be tuned (and tested) on its own.

import { generateEdit } from '../world/sample.js';
import { VIEW_SIZE } from '../world/scene.js';
import { cotForEdit } from './build.js';
import { findComposition } from './composition.js';
import { ATTRIBUTES, PAN_DIRECTIONS, THINK_KEYS } from './grammar.js';

export type AnnotateVariant = 'meta' | 'triplet';

const examples = new Map<AnnotateVariant, { instruction: string; cot: string }>();

/** A fixed worked example (a colour edit of the world), built once per variant. */
function worked(variant: AnnotateVariant): { instruction: string; cot: string } {
  let ex = examples.get(variant);
  if (!ex) {
    const { edit } = generateEdit('color_alter', 0);
    examples.set(variant, (ex = { instruction: edit.instruction, cot: cotForEdit(edit, variant) }));
  }
  return ex;
}

export function systemPrompt(variant: AnnotateVariant): string {
  const ex = worked(variant);
  const summary =
    variant === 'meta'
      ? '<summary> meta : M , M , ... </summary> where each M is one of add, remove, replace, camera_motion, position_change: the edit as a composition of meta-tasks, one per change, repeats kept.'
      : '<summary> task : CATEGORY </summary> where CATEGORY is the edit\'s category name as given.';
  return [
    'You write structured chains of thought for image edits, in a fixed word-level grammar. Every word is separated by a single space. Answer with the chain of thought only.',
    '',
    'Shape of the answer:',
    `  ${summary}`,
    '  <thinking> STATEMENT ; STATEMENT ; ... </thinking>',
    '  <traversal> ENTRY ; ENTRY ; ... </traversal>',
    '',
    `Positions: the picture is a ${VIEW_SIZE} x ${VIEW_SIZE} grid of units, (0, 0) at the top-left corner, x to the right, y down. An object is named as [ DESCRIPTION @ X Y ] where X Y is the top-left corner of its box, in whole units.`,
    '',
    `Thinking: the understanding the edit needs. Each statement starts with one of: ${THINK_KEYS.join(', ')}; then words and object references, e.g. "see 3 objects", "count red circles = 2", "locate [ ... @ 4 5 ] = top left", "read [ ... @ 4 5 ] = K", "relation [ ... ] left of [ ... ]".`,
    '',
    'Traversal: every object in the source picture exactly once, in reading order, then every added object, then the four global targets exactly once each:',
    '  [ DESCRIPTION @ X Y ] keep',
    '  [ DESCRIPTION @ X Y ] remove',
    '  [ DESCRIPTION @ X Y ] add                      (a new object, at its new place)',
    `  [ DESCRIPTION @ X Y ] replace ATTRIBUTE OLD -> NEW   (ATTRIBUTE: ${ATTRIBUTES.join(', ')})`,
    '  [ DESCRIPTION @ X Y ] move -> X2 Y2',
    '  several changes of one object are joined by " , " (e.g. "replace color red -> blue , move -> 3 4")',
    '  background keep | background replace OLD -> NEW',
    '  style keep | style replace OLD -> NEW',
    '  tone keep | tone replace OLD -> NEW',
    `  camera keep | camera pan DIRECTION UNITS (DIRECTION: ${PAN_DIRECTIONS.join(', ')}) | camera zoom in|out FACTOR @ X Y (the new view's corner)`,
    'Words inside [ ] and values must not contain ; , [ ] @ or ->.',
    '',
    `Example. Instruction: ${ex.instruction}`,
    ex.cot,
  ].join('\n');
}

export interface EditRequest {
  id: string;
  instruction: string;
  category: string;
  /** Data URLs of the source image and, when known, the edited target. */
  sourceImage?: string;
  targetImage?: string;
}

type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** The user turn for one edit: instruction, category and its meta-tasks, images. */
export function userContent(req: EditRequest): Part[] {
  const comp = findComposition(req.category);
  const lines = [
    `Edit id: ${req.id}`,
    `Instruction: ${req.instruction}`,
    `Category: ${req.category}${comp ? ` (composed of: ${comp.metaTasks.join(', ')}; ${comp.note})` : ''}`,
    req.sourceImage
      ? req.targetImage
        ? 'The first image is the source picture, the second the edited picture.'
        : 'The image is the source picture.'
      : 'No image is attached; reason from the instruction.',
    'Write the chain of thought.',
  ];
  const parts: Part[] = [{ type: 'text', text: lines.join('\n') }];
  if (req.sourceImage) parts.push({ type: 'image_url', image_url: { url: req.sourceImage } });
  if (req.sourceImage && req.targetImage) parts.push({ type: 'image_url', image_url: { url: req.targetImage } });
  return parts;
}

/** The follow-up turn after an answer that did not pass. */
export function retryContent(reason: string): string {
  return `That chain of thought was rejected: ${reason}\nWrite it again, following the grammar exactly.`;
}

/**
 * The CoT inside a chat answer: models wrap it in prose or code fences. From the first opening tag
 * to the last closing tag of the traversal (or think block); the whole answer when there is none.
 */
export function extractCot(answer: string): string {
  const text = answer.replace(/```[a-z]*\n?/gi, ' ');
  const start = [text.indexOf('<summary>'), text.indexOf('<think>')].filter((i) => i >= 0).sort((a, b) => a - b)[0];
  if (start === undefined) return text.trim().replace(/\s+/g, ' ');
  const ends = ['</traversal>', '</think>'].map((t) => {
    const i = text.lastIndexOf(t);
    return i < 0 ? -1 : i + t.length;
  });
  const end = Math.max(...ends);
  return (end > start ? text.slice(start, end) : text.slice(start)).trim().replace(/\s+/g, ' ');
}
