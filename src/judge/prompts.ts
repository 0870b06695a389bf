// The VLM judges' prompts, versioned as one: a change to any wording is a new PROMPT_VERSION, which
// names new calibration records and new cache entries (an old calibration says nothing about a new
// prompt). Every prompt asks for JSON {"score": [...], "reasoning": "..."} with integer scores 0-10.
//
//   viescore-sc   source + edited image, instruction: [editing success, over-editing] (VIEScore's
//                 semantic consistency, SC; 10 = minimal yet effective edit)
//   viescore-pq   edited image: [naturalness, artifacts] (VIEScore's perceptual quality, PQ)
//   cec-task      source + edited image, instruction, the CoT, pointing at its task summary and
//                 task thinking: [how well the edit carries out the task the CoT states]
//   cec-target    source + edited image, instruction, the CoT, pointing at its target traversal:
//                 [how well every target was changed or kept as the traversal says]
//
// VIEScore overall = sqrt(min(SC) * min(PQ)); CEC overall = the mean of its two perspectives.

export const PROMPT_VERSION = 'p1';

export type PromptId = 'viescore-sc' | 'viescore-pq' | 'cec-task' | 'cec-target';

export interface PromptSpec {
  id: PromptId;
  /** the first line of the user text: what the loopback server (and a reader of logs) keys on */
  heading: string;
  /** names of the scores the answer's list holds, in order */
  scores: readonly string[];
  /** images sent, in order */
  images: readonly ('source' | 'edited')[];
}

export const PROMPTS: Readonly<Record<PromptId, PromptSpec>> = {
  'viescore-sc': { id: 'viescore-sc', heading: 'Evaluation: instruction following of an image edit', scores: ['ins', 'con'], images: ['source', 'edited'] },
  'viescore-pq': { id: 'viescore-pq', heading: 'Evaluation: perceptual quality of an image', scores: ['nat', 'art'], images: ['edited'] },
  'cec-task': { id: 'cec-task', heading: 'Evaluation: an edit against the task its reasoning states', scores: ['task'], images: ['source', 'edited'] },
  'cec-target': { id: 'cec-target', heading: 'Evaluation: an edit against the targets its reasoning lists', scores: ['target'], images: ['source', 'edited'] },
};

export const SYSTEM_PROMPT =
  'You are a meticulous judge of edited images. You look at the images you are given, reason about what you see, ' +
  'and answer with one JSON object and nothing else: {"score": [<integers from 0 to 10>], "reasoning": "<one or two sentences>"}.';

const FORMAT = (n: number, names: string) =>
  `Answer with JSON only: {"score": [${Array.from({ length: n }, (_, i) => `score${i + 1}`).join(', ')}], "reasoning": "..."}, where ${names}. Every score is an integer from 0 to 10.`;

/** The parts of a CoT the CEC prompts quote: the summary and thinking (task) and the traversal (targets). */
export interface CotParts {
  summary: string;
  thinking: string;
  traversal: string;
}

/** Splits a CoT in the project's grammar into its three sections (empty strings for absent ones). */
export function cotParts(cot: string): CotParts {
  const section = (tag: string) => {
    const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(cot);
    return m ? m[1].trim() : '';
  };
  return { summary: section('summary'), thinking: section('thinking'), traversal: section('traversal') };
}

/** The user text of a prompt (the images go before it, in PromptSpec.images order). */
export function promptText(id: PromptId, item: { instruction: string; cot?: string }): string {
  const p = PROMPTS[id];
  switch (id) {
    case 'viescore-sc':
      return [
        p.heading,
        'The first image is the original, the second an edited version of it made by following an instruction.',
        'Score 1 (editing success): 0 = the edited image does not carry out the instruction at all, 10 = it carries it out perfectly.',
        'Score 2 (over-editing): 0 = the edited image is a different picture from the original, 10 = everything the instruction does not ask to change is unchanged.',
        `Instruction: ${item.instruction}`,
        FORMAT(2, 'score1 is the editing success and score2 the over-editing score'),
      ].join('\n');
    case 'viescore-pq':
      return [
        p.heading,
        'The image was made by an image-editing model.',
        'Score 1 (naturalness): 0 = colours, lighting or shapes look wrong or unnatural everywhere, 10 = the image looks natural.',
        'Score 2 (artifacts): 0 = much of the image is noise, smear, distortion or broken structure, 10 = no artifacts at all.',
        FORMAT(2, 'score1 is naturalness and score2 artifacts'),
      ].join('\n');
    case 'cec-task': {
      const c = cotParts(item.cot ?? '');
      return [
        p.heading,
        'The first image is the original, the second the edit. Before editing, the editor reasoned about the edit; judge whether the edit does what that reasoning says, not only what the instruction says.',
        `Instruction: ${item.instruction}`,
        `Reasoning: ${oneLine(item.cot)}`,
        `Focus on the task it states. Task summary: ${c.summary || '(none)'}. Task thinking: ${c.thinking || '(none)'}.`,
        'Score 1: 0 = the edit does not carry out the task as the reasoning states it, 10 = it carries it out exactly (right operations, counts, places and values).',
        FORMAT(1, 'score1 is that score'),
      ].join('\n');
    }
    case 'cec-target': {
      const c = cotParts(item.cot ?? '');
      return [
        p.heading,
        'The first image is the original, the second the edit. Before editing, the editor reasoned about the edit and listed every target in the image with whether and how it changes (keep, or an operation).',
        `Instruction: ${item.instruction}`,
        `Reasoning: ${oneLine(item.cot)}`,
        `Focus on the targets it lists: ${c.traversal || '(none)'}`,
        'Score 1: 0 = the targets are not handled as listed, 10 = every listed target is changed or kept exactly as listed and nothing else changed.',
        FORMAT(1, 'score1 is that score'),
      ].join('\n');
    }
  }
}

/** A CoT on one line (the prompts quote it on a line of its own). */
function oneLine(cot: string | undefined): string {
  const t = (cot ?? '').replace(/\s+/g, ' ').trim();
  return t === '' ? '(none)' : t;
}

/** What to say when an answer could not be read, for the retry. */
export function retryText(reason: string, n: number): string {
  return `Your answer could not be read (${reason}). Answer again with one JSON object only: {"score": [${n} integers from 0 to 10], "reasoning": "..."}.`;
}

/** Which prompt a user text is (by its heading), for servers that answer them. */
export function promptOfText(text: string): PromptId | null {
  const first = text.split('\n', 1)[0].trim();
  for (const p of Object.values(PROMPTS)) if (p.heading === first) return p.id;
  return null;
}
