// The prompts file: each prompt's heading, images and score names; the CoT sections the CEC prompts
// quote; the text a server keys on.
import { describe, expect, it } from 'vitest';

import { PROMPTS, PROMPT_VERSION, SYSTEM_PROMPT, cotParts, promptOfText, promptText, retryText } from '../../src/judge/prompts.js';

const cot = '<summary> meta : replace </summary>\n<thinking> see 2 objects ; make the red one blue </thinking> <traversal> [ a ] replace color red -> blue ; [ b ] keep </traversal>';

describe('judge prompts', () => {
  it('has one version and a spec per prompt', () => {
    expect(PROMPT_VERSION).toBe('p1');
    expect(Object.values(PROMPTS).map((p) => [p.id, p.scores, p.images])).toEqual([
      ['viescore-sc', ['ins', 'con'], ['source', 'edited']],
      ['viescore-pq', ['nat', 'art'], ['edited']],
      ['cec-task', ['task'], ['source', 'edited']],
      ['cec-target', ['target'], ['source', 'edited']],
    ]);
    expect(SYSTEM_PROMPT).toContain('{"score": [<integers from 0 to 10>], "reasoning"');
  });

  it('splits a CoT into summary, thinking and traversal', () => {
    expect(cotParts(cot)).toEqual({ summary: 'meta : replace', thinking: 'see 2 objects ; make the red one blue', traversal: '[ a ] replace color red -> blue ; [ b ] keep' });
    expect(cotParts('no sections')).toEqual({ summary: '', thinking: '', traversal: '' });
  });

  it('each text starts with its heading, asks for its number of scores, and quotes what it should', () => {
    const item = { instruction: 'Make the red one blue.', cot };
    for (const p of Object.values(PROMPTS)) {
      const t = promptText(p.id, item);
      expect(t.split('\n')[0]).toBe(p.heading);
      expect(promptOfText(t)).toBe(p.id);
      const list = /\{"score": \[([^\]]*)\]/.exec(t)![1].split(', ');
      expect(list).toHaveLength(p.scores.length);
      if (p.id !== 'viescore-pq') expect(t).toContain('Instruction: Make the red one blue.');
      else expect(t).not.toContain('Instruction');
    }
    expect(promptText('cec-task', item)).toContain('Reasoning: <summary> meta : replace </summary> <thinking> see 2 objects');
    expect(promptText('cec-task', item)).toContain('Task summary: meta : replace. Task thinking: see 2 objects ; make the red one blue.');
    expect(promptText('cec-target', item)).toContain('Focus on the targets it lists: [ a ] replace color red -> blue ; [ b ] keep');
    expect(promptText('cec-task', { instruction: 'x' })).toContain('Reasoning: (none)');
    expect(promptText('cec-task', { instruction: 'x' })).toContain('Task summary: (none). Task thinking: (none).');
    expect(promptText('cec-target', { instruction: 'x', cot: '  ' })).toContain('Focus on the targets it lists: (none)');
  });

  it('names an unknown text null, and says why an answer is asked again', () => {
    expect(promptOfText('Hello\nthere')).toBeNull();
    expect(promptOfText(`  ${PROMPTS['viescore-pq'].heading}  \nrest`)).toBe('viescore-pq');
    expect(retryText('"score" is missing', 2)).toBe('Your answer could not be read ("score" is missing). Answer again with one JSON object only: {"score": [2 integers from 0 to 10], "reasoning": "..."}.');
  });

  it('the answer format names one placeholder per score, score1 first', () => {
    const item = { instruction: 'x', cot };
    for (const id of ['viescore-sc', 'viescore-pq'] as const) expect(promptText(id, item)).toContain('Answer with JSON only: {"score": [score1, score2], "reasoning": "..."}, where score1 ');
    for (const id of ['cec-task', 'cec-target'] as const) expect(promptText(id, item)).toContain('Answer with JSON only: {"score": [score1], "reasoning": "..."}, where score1 is that score.');
  });

  it('quotes the CoT on one line: whitespace runs collapsed, ends trimmed, blank as (none)', () => {
    expect(promptText('cec-task', { instruction: 'x', cot: '  ' }).split('\n')).toContain('Reasoning: (none)');
    expect(promptText('cec-target', { instruction: 'x', cot: ' a \n\t b  ' }).split('\n')).toContain('Reasoning: a b');
  });

  it('golden texts of prompt version p1', () => {
    // A pin of the exact wording sent to the VLM. Calibration records and cache entries are keyed by
    // PROMPT_VERSION, so any wording change must bump PROMPT_VERSION (and then update this text).
    expect(PROMPT_VERSION).toBe('p1');
    const item = { instruction: 'Make the red one blue.', cot };
    const quoted = 'Reasoning: <summary> meta : replace </summary> <thinking> see 2 objects ; make the red one blue </thinking> <traversal> [ a ] replace color red -> blue ; [ b ] keep </traversal>';
    const golden: Record<keyof typeof PROMPTS, string[]> = {
      'viescore-sc': [
        'Evaluation: instruction following of an image edit',
        'The first image is the original, the second an edited version of it made by following an instruction.',
        'Score 1 (editing success): 0 = the edited image does not carry out the instruction at all, 10 = it carries it out perfectly.',
        'Score 2 (over-editing): 0 = the edited image is a different picture from the original, 10 = everything the instruction does not ask to change is unchanged.',
        'Instruction: Make the red one blue.',
        'Answer with JSON only: {"score": [score1, score2], "reasoning": "..."}, where score1 is the editing success and score2 the over-editing score. Every score is an integer from 0 to 10.',
      ],
      'viescore-pq': [
        'Evaluation: perceptual quality of an image',
        'The image was made by an image-editing model.',
        'Score 1 (naturalness): 0 = colours, lighting or shapes look wrong or unnatural everywhere, 10 = the image looks natural.',
        'Score 2 (artifacts): 0 = much of the image is noise, smear, distortion or broken structure, 10 = no artifacts at all.',
        'Answer with JSON only: {"score": [score1, score2], "reasoning": "..."}, where score1 is naturalness and score2 artifacts. Every score is an integer from 0 to 10.',
      ],
      'cec-task': [
        'Evaluation: an edit against the task its reasoning states',
        'The first image is the original, the second the edit. Before editing, the editor reasoned about the edit; judge whether the edit does what that reasoning says, not only what the instruction says.',
        'Instruction: Make the red one blue.',
        quoted,
        'Focus on the task it states. Task summary: meta : replace. Task thinking: see 2 objects ; make the red one blue.',
        'Score 1: 0 = the edit does not carry out the task as the reasoning states it, 10 = it carries it out exactly (right operations, counts, places and values).',
        'Answer with JSON only: {"score": [score1], "reasoning": "..."}, where score1 is that score. Every score is an integer from 0 to 10.',
      ],
      'cec-target': [
        'Evaluation: an edit against the targets its reasoning lists',
        'The first image is the original, the second the edit. Before editing, the editor reasoned about the edit and listed every target in the image with whether and how it changes (keep, or an operation).',
        'Instruction: Make the red one blue.',
        quoted,
        'Focus on the targets it lists: [ a ] replace color red -> blue ; [ b ] keep',
        'Score 1: 0 = the targets are not handled as listed, 10 = every listed target is changed or kept exactly as listed and nothing else changed.',
        'Answer with JSON only: {"score": [score1], "reasoning": "..."}, where score1 is that score. Every score is an integer from 0 to 10.',
      ],
    };
    for (const p of Object.values(PROMPTS)) expect(promptText(p.id, item).split('\n')).toEqual(golden[p.id]);
  });
});
