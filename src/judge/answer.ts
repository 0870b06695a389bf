// Reading a VLM judge's answer: one JSON object {"score": [n numbers 0-10], "reasoning": "..."}, in
// a code fence or bare. Anything else is unreadable, with the reason (the judge retries, then counts
// a failure; no score is ever guessed).
//
// Where the endpoint returned top log-probabilities, each score is read as the expectation of the
// score tokens' probabilities at the place the answer wrote it: sum_k p(k) k / sum_k p(k) over the
// alternatives that are whole numbers 0-10 (the parsed value where a score is not a single token).
import type { TokenLogprobs } from '../endpoint/client.js';

export type ParsedAnswer = { ok: true; scores: number[]; reasoning: string; offsets: number[] } | { ok: false; reason: string };

export function parseAnswer(content: string, n: number): ParsedAnswer {
  const text = content.trim();
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end < start) return { ok: false, reason: text === '' ? 'the answer was empty' : 'no JSON object in the answer' };
  let obj: unknown;
  try {
    obj = JSON.parse(text.slice(start, end + 1));
  } catch (e) {
    return { ok: false, reason: `the JSON does not parse: ${(e as Error).message}` };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { ok: false, reason: 'the answer is not a JSON object' };
  const score = (obj as { score?: unknown }).score;
  if (!Array.isArray(score)) return { ok: false, reason: `"score" is ${score === undefined ? 'missing' : 'not a list'}` };
  if (score.length !== n) return { ok: false, reason: `"score" has ${score.length} entries, expected ${n}` };
  for (const [i, s] of score.entries())
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 10) return { ok: false, reason: `score ${i + 1} is ${JSON.stringify(s)}, expected a number from 0 to 10` };
  const reasoning = (obj as { reasoning?: unknown }).reasoning;
  // where each number sits in the content, for the log-probabilities
  const offsets: number[] = [];
  const list = /"score"\s*:\s*\[/.exec(content);
  if (list) {
    const num = /-?\d+(?:\.\d+)?/g;
    num.lastIndex = list.index + list[0].length;
    for (let i = 0; i < n; i++) {
      const m = num.exec(content);
      if (!m) break;
      offsets.push(m.index);
    }
  }
  return { ok: true, scores: score as number[], reasoning: typeof reasoning === 'string' ? reasoning : '', offsets: offsets.length === n ? offsets : [] };
}

/** The expected score at each offset from the tokens' top log-probabilities, or the parsed value. */
export function expectedScores(parsed: Extract<ParsedAnswer, { ok: true }>, logprobs: readonly TokenLogprobs[] | undefined): number[] {
  if (!logprobs || parsed.offsets.length !== parsed.scores.length) return parsed.scores;
  const starts: number[] = [];
  let at = 0;
  for (const t of logprobs) {
    starts.push(at);
    at += t.token.length;
  }
  return parsed.scores.map((value, i) => {
    const k = starts.indexOf(parsed.offsets[i]);
    if (k < 0) return value;
    const tok = logprobs[k];
    // the score must be this whole token (not "1" of a "10" written as two tokens)
    if (tok.token.trim() !== String(value)) return value;
    let num = 0;
    let den = 0;
    for (const alt of tok.top) {
      const s = alt.token.trim();
      if (!/^(?:\d|10)$/.test(s)) continue;
      const p = Math.exp(alt.logprob);
      num += p * Number(s);
      den += p;
    }
    return den > 0 ? num / den : value;
  });
}
