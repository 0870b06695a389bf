// The loopback VLM's answers, called directly and over HTTP: exact scores (noise 0), seeded noise
// (the same request, the same answer), log-probabilities around the exact value, and what it says
// to requests it cannot answer.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import { cotForEdit } from '../../src/cot/build.js';
import { LoopbackVlm } from '../../src/judge/loopback.js';
import { PROMPTS, promptText } from '../../src/judge/prompts.js';
import { encodePng } from '../../src/world/image.js';
import { renderScene } from '../../src/world/render.js';
import { generateEdit } from '../../src/world/sample.js';
import { artifacts, naturalness, scoreEdit } from '../../src/world/score.js';
import { TONE_NAMES } from '../../src/world/palette.js';
import { createImage } from '../../src/world/image.js';

const { edit } = generateEdit('color_alter', 3);
const source = renderScene(edit.source).image;
const target = renderScene(edit.target).image;
const cot = cotForEdit(edit, 'meta');

async function body(id: keyof typeof PROMPTS, edited = target, over: { cot?: string; logprobs?: boolean } = {}) {
  const url = async (img: typeof source) => `data:image/png;base64,${(await encodePng(img)).toString('base64')}`;
  const imgs = PROMPTS[id].images.map((k) => (k === 'source' ? source : edited));
  const content = [...(await Promise.all(imgs.map(async (i) => ({ type: 'image_url' as const, image_url: { url: await url(i) } })))), { type: 'text' as const, text: promptText(id, { instruction: edit.instruction, cot: over.cot ?? cot }) }];
  return { model: 'm', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content }], ...(over.logprobs && { logprobs: true, top_logprobs: 5 }) };
}
const scoresOf = (content: string) => (JSON.parse(content) as { score: number[] }).score;

describe('LoopbackVlm', () => {
  const exact = new LoopbackVlm([{ source, sourceScene: edit.source, targetScene: edit.target }], { noise: 0 });

  it('with noise 0 answers the exact scores, rounded', async () => {
    const half = createImage(source.width, source.height);
    for (let i = 0; i < half.data.length; i++) half.data[i] = (source.data[i] + target.data[i]) >> 1;
    const s = scoreEdit(half, edit.source, edit.target);
    expect(scoresOf((await exact.answer(await body('viescore-sc', half))).content)).toEqual([Math.round(s.ins), Math.round(s.con)]);
    const pq = scoresOf((await exact.answer(await body('viescore-pq', half))).content);
    expect(pq).toEqual([Math.round(10 * naturalness(half, TONE_NAMES)), Math.round(10 * artifacts(half, createImage(half.width, half.height)).noise)]);
    expect(scoresOf((await exact.answer(await body('cec-task', target))).content)).toEqual([10]);
    expect(scoresOf((await exact.answer(await body('cec-target', source))).content)).toEqual([Math.round(scoreEdit(source, edit.source, edit.target).overall)]);
    // a CoT that does not apply: 0
    expect(scoresOf((await exact.answer(await body('cec-task', target, { cot: 'nonsense' }))).content)).toEqual([0]);
  });

  it('noise is seeded by the request: the same request gets the same answer, another seed another', async () => {
    const a = new LoopbackVlm([{ source, sourceScene: edit.source, targetScene: edit.target }], { noise: 3, seed: 1 });
    const b = new LoopbackVlm([{ source, sourceScene: edit.source, targetScene: edit.target }], { noise: 3, seed: 2 });
    const reqs = await Promise.all([0.2, 0.4, 0.6, 0.8].map(async (f) => {
      const img = createImage(source.width, source.height);
      for (let i = 0; i < img.data.length; i++) img.data[i] = Math.round((1 - f) * source.data[i] + f * target.data[i]);
      return body('viescore-sc', img);
    }));
    const first = await Promise.all(reqs.map(async (r) => (await a.answer(r)).content));
    expect(await Promise.all(reqs.map(async (r) => (await a.answer(r)).content))).toEqual(first);
    const other = await Promise.all(reqs.map(async (r) => (await b.answer(r)).content));
    expect(other).not.toEqual(first);
    for (const c of [...first, ...other]) for (const v of scoresOf(c)) expect(v >= 0 && v <= 10 && Number.isInteger(v)).toBe(true);
    expect(() => new LoopbackVlm([], { noise: -1 })).toThrow(/option 'noise' expected a number >= 0, received -1/);
  });

  it('log-probabilities: each score token carries a Gaussian over 0..10 around the exact value, most likely first', async () => {
    const r = await exact.answer(await body('cec-task', target, { logprobs: true }));
    const lp = (r.logprobs as { content: { token: string; logprob: number; top_logprobs: { token: string; logprob: number }[] }[] }).content;
    expect(lp.map((t) => t.token).join('')).toBe(r.content);
    const score = lp.find((t) => t.top_logprobs.length > 0)!;
    expect(score.token).toBe('10');
    expect(score.top_logprobs).toHaveLength(5);
    expect(score.top_logprobs.slice(0, 4).map((t) => t.token)).toEqual(['10', '9', '8', '7']);
    const p = score.top_logprobs.map((t) => Math.exp(t.logprob));
    // sigma max(0, 0.3): p(9) / p(10) = exp(-1 / (2 * 0.09))
    expect(p[1] / p[0]).toBeCloseTo(Math.exp(-1 / 0.18), 9);
    expect(score.logprob).toBe(score.top_logprobs[0].logprob);
    expect(lp.filter((t) => t.top_logprobs.length > 0)).toHaveLength(1);
  });

  it('answers what it cannot score in words (a judge failure), and HTTP errors for what is not a request', async () => {
    const v = new LoopbackVlm([{ source, sourceScene: edit.source, targetScene: edit.target }]);
    expect((await v.answer({ messages: [{ role: 'user', content: 'Tell me a joke' }] })).content).toBe('I can only answer the metacot judge prompts.');
    const one = await body('viescore-sc');
    (one.messages[1].content as unknown[]).splice(0, 1);
    expect((await v.answer(one)).content).toBe('I expected 2 image(s) and received 1.');
    const stranger = await body('viescore-sc');
    const other = createImage(source.width, source.height);
    (stranger.messages[1].content as { image_url?: { url: string } }[])[0].image_url!.url = `data:image/png;base64,${(await encodePng(other)).toString('base64')}`;
    expect((await v.answer(stranger)).content).toBe('I do not recognise this image, so I cannot score it.');
    expect(v.stats.unknownImages).toBe(1);
    const url = await v.listen(0);
    try {
      expect((await fetch(`${url}/models`)).status).toBe(404);
      const bad = await fetch(`${url}/chat/completions`, { method: 'POST', body: '{not json' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: { message: 'the request body is not JSON' } });
      const ok = await fetch(`${url}/chat/completions`, { method: 'POST', body: JSON.stringify(await body('cec-target')) });
      const j = (await ok.json()) as { model: string; choices: { message: { content: string }; logprobs: unknown }[] };
      expect(j.model).toBe('m');
      expect(scoresOf(j.choices[0].message.content)).toHaveLength(1);
      expect(j.choices[0].logprobs).toBeNull();
      expect(v.stats.requests).toBe(2);
    } finally {
      await v.close();
      await v.close();
    }
  });

  it('adds the configured latency', async () => {
    const v = new LoopbackVlm([], { delayMs: 120 });
    const url = await v.listen(0);
    try {
      const t0 = performance.now();
      await (await fetch(`${url}/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }) })).json();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    } finally {
      await v.close();
    }
  });

  it('listens on 127.0.0.1 only, and close() stops it listening', async () => {
    const v = new LoopbackVlm([]);
    const url = await v.listen(0);
    // the server itself (private): the address it is bound to, not only the URL it reports
    const server = (v as unknown as { server: Server }).server;
    try {
      const addr = server.address() as AddressInfo;
      expect(addr.address).toBe('127.0.0.1');
      expect(url).toBe(`http://127.0.0.1:${addr.port}/v1`);
      expect((await fetch(`${url}/models`)).status).toBe(404);
      await v.close();
      expect(server.listening).toBe(false);
      await expect(fetch(`${url}/models`)).rejects.toThrow();
    } finally {
      if (server.listening) {
        server.closeAllConnections();
        server.close();
      }
    }
  });
});
