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
});
