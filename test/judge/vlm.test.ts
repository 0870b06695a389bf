// The VLM judges against a scripted OpenAI-compatible server on 127.0.0.1: scores parsed from the
// answers (VIEScore overall = sqrt(min SC * min PQ), CEC = the mean of its perspectives), unreadable
// answers asked again then counted, endpoint failures counted, the cache answering a rerun, and the
// API key in no log line, verdict or cache file.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { EndpointClient } from '../../src/endpoint/client.js';
import { cotForEdit } from '../../src/cot/build.js';
import { LoopbackVlm } from '../../src/judge/loopback.js';
import { PROMPTS, PROMPT_VERSION, SYSTEM_PROMPT, promptOfText } from '../../src/judge/prompts.js';
import type { JudgeItem } from '../../src/judge/types.js';
import { VlmJudge } from '../../src/judge/vlm.js';
import { createImage } from '../../src/world/image.js';
import { renderScene } from '../../src/world/render.js';
import { generateEdit } from '../../src/world/sample.js';
import { FakeServer, type Reply, type RequestSeen, imageCount, userText } from './fake-server.js';

const servers: FakeServer[] = [];
async function serve(reply: (req: RequestSeen, n: number) => Reply | Promise<Reply>) {
  const server = new FakeServer(reply);
  servers.push(server);
  return { server, url: await server.listen() };
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const SCORES: Record<string, number[]> = { 'viescore-sc': [8, 6], 'viescore-pq': [9, 7], 'cec-task': [5], 'cec-target': [7] };
const good = (req: RequestSeen): Reply => {
  const id = promptOfText(userText(req));
  return id ? { content: `{"score": [${SCORES[id].join(', ')}], "reasoning": "${id} seen"}` } : { status: 400 };
};

function image(v: number) {
  const img = createImage(8, 8);
  img.data.fill(v);
  return img;
}
function items(n: number, cot = '<summary> meta : replace </summary> <thinking> t </thinking> <traversal> x keep </traversal>'): JudgeItem[] {
  return Array.from({ length: n }, (_, i) => ({ id: `e${i}`, source: image(i), edited: image(255 - i), instruction: `edit ${i}`, cot }));
}
const tmp = () => mkdtempSync(join(tmpdir(), 'metacot-vlm-'));

describe('VlmJudge', () => {
  it('VIEScore: both prompts, their images, and overall = sqrt(min(SC) * min(PQ))', async () => {
    const { server, url } = await serve(good);
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'vlm-a' }), 'viescore', { logprobs: false });
    const [v] = await j.score(items(1));
    expect(v).toMatchObject({ id: 'e0', ok: true, scores: { ins: 8, con: 6, nat: 9, art: 7 } });
    expect(v.overall).toBeCloseTo(Math.sqrt(6 * 7), 12);
    expect(v.reasons).toEqual(['viescore-sc: viescore-sc seen', 'viescore-pq: viescore-pq seen']);
    const byPrompt = Object.fromEntries(server.requests.map((r) => [promptOfText(userText(r)), r]));
    expect(imageCount(byPrompt['viescore-sc'])).toBe(2);
    expect(imageCount(byPrompt['viescore-pq'])).toBe(1);
    expect(userText(byPrompt['viescore-sc'])).toContain('Instruction: edit 0');
    // images go as PNG data URLs
    const part = (byPrompt['viescore-pq'].body.messages[1].content as { type: string; image_url?: { url: string } }[])[0];
    expect(part.image_url!.url).toMatch(/^data:image\/png;base64,iVBORw0KGgo/);
    expect(byPrompt['viescore-sc'].body).toMatchObject({ model: 'vlm-a', temperature: 0 });
    expect(j.identity).toEqual({ kind: 'vlm-viescore', model: 'vlm-a', version: PROMPT_VERSION });
  });

  it('CEC: the task and target prompts quote the CoT; overall is their mean; no CoT scores 0 without a request', async () => {
    const { server, url } = await serve(good);
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'cec');
    const cot = '<summary> meta : replace </summary> <thinking> make it red </thinking> <traversal> [ a ] replace color blue -> red </traversal>';
    const [v] = await j.score(items(1, cot));
    expect(v).toMatchObject({ ok: true, overall: 6, scores: { task: 5, target: 7 } });
    const texts = server.requests.map(userText);
    expect(texts.find((t) => promptOfText(t) === 'cec-task')).toContain('Task summary: meta : replace. Task thinking: make it red.');
    expect(texts.find((t) => promptOfText(t) === 'cec-target')).toContain('Focus on the targets it lists: [ a ] replace color blue -> red');
    const n = server.requests.length;
    const [none] = await j.score(items(1, '  '));
    expect(none).toMatchObject({ ok: true, overall: 0, cotError: 'no CoT to check the edit against' });
    expect(server.requests.length).toBe(n);
  });

  it('asks again after an unreadable answer, with the reason; counts a failure when it never reads', async () => {
    let bad = 1;
    const { server, url } = await serve((req) => (promptOfText(userText(req)) === 'viescore-sc' && bad-- > 0 ? { content: 'The edit looks good, I would say 8.' } : good(req)));
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'viescore', { parseRetries: 2, logprobs: false });
    const [v] = await j.score(items(1));
    expect(v.ok).toBe(true);
    expect(v.scores!.ins).toBe(8);
    expect(j.stats.unreadable).toBe(1);
    const retry = server.requests.find((r) => r.body.messages.length === 4)!;
    expect(retry.body.messages[2]).toEqual({ role: 'assistant', content: 'The edit looks good, I would say 8.' });
    expect(retry.body.messages[3].content).toMatch(/could not be read \(no JSON object in the answer\)/);

    const { server: s2, url: u2 } = await serve((req) => (promptOfText(userText(req)) === 'viescore-pq' ? { content: '{"score": [9, 12]}' } : good(req)));
    const j2 = new VlmJudge(new EndpointClient({ endpoint: u2, model: 'm' }), 'viescore', { parseRetries: 2 });
    const [f] = await j2.score(items(1));
    expect(f).toMatchObject({ ok: false, failure: { kind: 'unparseable' } });
    expect(f.overall).toBeUndefined();
    expect(f.failure!.message).toMatch(/viescore-pq: no readable answer in 3 tries \(last: score 2 is 12/);
    expect(s2.requests.filter((r) => promptOfText(userText(r)) === 'viescore-pq')).toHaveLength(3);
    expect(j2.stats).toMatchObject({ items: 1, failures: 1, unreadable: 3 });
  });

  it('an endpoint that fails for good fails the item (kind endpoint or timeout), never a guessed score', async () => {
    const { url } = await serve(() => ({ status: 503 }));
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm', retries: 1, backoffMs: 1 }), 'viescore');
    const [v] = await j.score(items(1));
    expect(v).toMatchObject({ ok: false, failure: { kind: 'endpoint' } });
    expect(v.failure!.message).toMatch(/HTTP 503 after 2 tries/);
    const { url: slow } = await serve(() => ({ content: '{"score": [1, 1]}', delayMs: 1000 }));
    const j2 = new VlmJudge(new EndpointClient({ endpoint: slow, model: 'm', retries: 0, timeoutMs: 100 }), 'viescore');
    const [t] = await j2.score(items(1));
    expect(t).toMatchObject({ ok: false, failure: { kind: 'timeout' } });
  });

  it('keeps at most `concurrency` requests in flight over a batch', async () => {
    const { server, url } = await serve(async (req) => ({ ...good(req), delayMs: 15 }));
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm', concurrency: 4 }), 'viescore');
    const vs = await j.score(items(12));
    expect(vs.every((v) => v.ok)).toBe(true);
    expect(vs.map((v) => v.id)).toEqual(items(12).map((i) => i.id));
    expect(server.requests).toHaveLength(24);
    expect(server.maxInFlight).toBe(4);
  });

  it('answers a rerun from the on-disk cache without a request; a new model or image asks again', async () => {
    const dir = tmp();
    const { server, url } = await serve(good);
    const run = (model: string, its = items(3)) => new VlmJudge(new EndpointClient({ endpoint: url, model }), 'viescore', { cacheDir: dir }).score(its);
    const first = await run('m');
    expect(server.requests).toHaveLength(6);
    const again = await run('m');
    expect(server.requests).toHaveLength(6);
    expect(again.map((v) => v.overall)).toEqual(first.map((v) => v.overall));
    expect(again.every((v) => v.cached)).toBe(true);
    expect(first.some((v) => v.cached)).toBe(false);
    await run('other-model');
    expect(server.requests).toHaveLength(12);
    const changed = items(3);
    changed[0].edited = image(17);
    await run('m', changed);
    // only the changed edit's two prompts (its edited image is in both) are asked
    expect(server.requests).toHaveLength(14);
    expect(readdirSync(dir).sort()).toEqual([`vlm-viescore@m@${PROMPT_VERSION}.jsonl`, `vlm-viescore@other-model@${PROMPT_VERSION}.jsonl`]);
  });

  it('the API key reaches the server and no log line, verdict, error or cache file', async () => {
    const KEY = 'sk-test-NEVER-PRINT-9876';
    process.env.METACOT_JUDGE_KEY = KEY;
    const dir = tmp();
    const logged: string[] = [];
    const spies = [
      vi.spyOn(console, 'log').mockImplementation((...a) => void logged.push(a.join(' '))),
      vi.spyOn(console, 'error').mockImplementation((...a) => void logged.push(a.join(' '))),
      vi.spyOn(console, 'warn').mockImplementation((...a) => void logged.push(a.join(' '))),
      vi.spyOn(process.stderr, 'write').mockImplementation((s) => (logged.push(String(s)), true)),
    ];
    try {
      let n = 0;
      const { server, url } = await serve((req) => (++n % 3 === 0 ? { status: 401 } : n % 3 === 1 ? { content: 'not json' } : good(req)));
      const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm', apiKeyEnv: 'METACOT_JUDGE_KEY', backoffMs: 1 }), 'viescore', { cacheDir: dir });
      const vs = await j.score(items(4));
      expect(server.requests.every((r) => r.headers.authorization === `Bearer ${KEY}`)).toBe(true);
      expect(vs.some((v) => !v.ok)).toBe(true);
      const everything = [JSON.stringify(vs), JSON.stringify(j.stats), JSON.stringify(j.identity), ...logged, ...readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'))].join('\n');
      expect(everything).not.toContain('NEVER-PRINT');
    } finally {
      for (const s of spies) s.mockRestore();
      delete process.env.METACOT_JUDGE_KEY;
    }
  });

  it('reads scores as expectations over the top log-probabilities when the endpoint returns them', async () => {
    const { server, url } = await serve((req) => {
      const id = promptOfText(userText(req))!;
      return { content: `{"score": [${SCORES[id].join(', ')}]}` };
    });
    // the scripted server returns no log-probabilities: the written scores stand
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'viescore');
    const [v] = await j.score(items(1));
    expect(v.scores).toEqual({ ins: 8, con: 6, nat: 9, art: 7 });
    expect(server.requests[0].body).toMatchObject({ logprobs: true, top_logprobs: 20 });
    await new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'viescore', { logprobs: false }).score(items(1));
    expect(server.requests[2].body.logprobs).toBeUndefined();
  });

  it('refuses an unknown kind', () => {
    expect(() => new VlmJudge(new EndpointClient({ endpoint: 'http://x/v1', model: 'm' }), 'clip' as 'cec')).toThrow(/argument 'kind' expected 'viescore' \| 'cec', received "clip"/);
    expect(Object.keys(PROMPTS).sort()).toEqual(['cec-target', 'cec-task', 'viescore-pq', 'viescore-sc']);
  });

  it('every request starts with the system prompt and asks for at most 256 tokens by default; a retry is a user turn', async () => {
    let bad = 1;
    const { server, url } = await serve((req) => (promptOfText(userText(req)) === 'viescore-sc' && bad-- > 0 ? { content: 'eight' } : good(req)));
    const [v] = await new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'viescore', { logprobs: false }).score(items(1));
    expect(v.ok).toBe(true);
    expect(server.requests).toHaveLength(3);
    for (const r of server.requests) {
      expect(r.body.messages[0]).toEqual({ role: 'system', content: SYSTEM_PROMPT });
      expect(r.body.max_tokens).toBe(256);
    }
    const retry = server.requests.find((r) => r.body.messages.length === 4)!;
    expect(retry.body.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    await new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'viescore', { logprobs: false, maxTokens: 40 }).score(items(1));
    expect(server.requests.at(-1)!.body.max_tokens).toBe(40);
  });

  it('CEC: an item whose CoT is absent scores 0 in both perspectives, without a request', async () => {
    const { server, url } = await serve(good);
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'cec');
    const { cot: _, ...noCot } = items(1)[0];
    const [v] = await j.score([noCot]);
    expect(v).toEqual({ id: 'e0', ok: true, overall: 0, scores: { task: 0, target: 0 }, reasons: ['no CoT to check the edit against'], cotError: 'no CoT to check the edit against' });
    expect(server.requests).toHaveLength(0);
  });

  it('counts only the items that failed', async () => {
    const { url } = await serve((req) => (userText(req).includes('Instruction: edit 1') ? { content: 'no idea' } : good(req)));
    const j = new VlmJudge(new EndpointClient({ endpoint: url, model: 'm' }), 'viescore', { parseRetries: 0, logprobs: false });
    const vs = await j.score(items(2));
    expect(vs.map((v) => v.ok)).toEqual([true, false]);
    expect(j.stats).toMatchObject({ items: 2, failures: 1 });
  });

  it('an error that is not the endpoint failing (a bug) is thrown, not counted as a failed item', async () => {
    const client = { model: 'm', chat: async () => { throw new TypeError('a bug in the client'); } } as unknown as EndpointClient;
    const j = new VlmJudge(client, 'viescore');
    await expect(j.score(items(1))).rejects.toThrow('a bug in the client');
  });
});

describe('VlmJudge with log-probabilities (loopback server)', () => {
  const { edit } = generateEdit('color_alter', 3);
  const source = renderScene(edit.source).image;
  const item: JudgeItem = { id: 'a', source, edited: renderScene(edit.target).image, instruction: edit.instruction, cot: cotForEdit(edit, 'meta') };
  /** A noise-free loopback server for the edit: the exact CEC scores are 10, the expectations below 10. */
  async function loopback<T>(f: (url: string, vlm: LoopbackVlm) => Promise<T>): Promise<T> {
    const vlm = new LoopbackVlm([{ source, sourceScene: edit.source, targetScene: edit.target }], { noise: 0 });
    const url = await vlm.listen();
    try {
      return await f(url, vlm);
    } finally {
      await vlm.close();
    }
  }
  const judge = (url: string, opts: ConstructorParameters<typeof VlmJudge>[2] = {}) => new VlmJudge(new EndpointClient({ endpoint: url, model: 'loop' }), 'cec', opts);

  it('logprobs: true (like the default) reads expectations; logprobs: false the written scores', async () => {
    await loopback(async (url) => {
      const [d] = await judge(url).score([item]);
      const [t] = await judge(url, { logprobs: true }).score([item]);
      const [f] = await judge(url, { logprobs: false }).score([item]);
      expect(f.scores).toEqual({ task: 10, target: 10 });
      expect(d.scores!.task).toBeGreaterThan(9);
      expect(d.scores!.task).toBeLessThan(10);
      expect(t.scores).toEqual(d.scores);
    });
  });

  it('caches the log-probabilities: a rerun from the cache reads the same expectations, or the written scores with logprobs: false', async () => {
    const dir = tmp();
    await loopback(async (url, vlm) => {
      const [first] = await judge(url, { cacheDir: dir }).score([item]);
      expect(first.cached).toBeUndefined();
      expect(Number.isInteger(first.scores!.task)).toBe(false);
      const lines = readFileSync(join(dir, readdirSync(dir)[0]), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(2);
      for (const l of lines) expect(l.logprobs.length).toBeGreaterThan(0);
      const asked = vlm.stats.requests;
      const [again] = await judge(url, { cacheDir: dir }).score([item]);
      expect(again).toMatchObject({ cached: true, scores: first.scores, overall: first.overall });
      const [explicit] = await judge(url, { cacheDir: dir, logprobs: true }).score([item]);
      expect(explicit).toMatchObject({ cached: true, scores: first.scores });
      const [written] = await judge(url, { cacheDir: dir, logprobs: false }).score([item]);
      expect(written).toMatchObject({ cached: true, scores: { task: 10, target: 10 } });
      expect(vlm.stats.requests).toBe(asked);
    });
  });

  it('asks again for a cached answer that no longer reads', async () => {
    const dir = tmp();
    await loopback(async (url, vlm) => {
      await judge(url, { cacheDir: dir }).score([item]);
      const file = join(dir, readdirSync(dir)[0]);
      const spoiled = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.stringify({ ...JSON.parse(l), content: 'garbage' }));
      writeFileSync(file, `${spoiled.join('\n')}\n`);
      const asked = vlm.stats.requests;
      const j = judge(url, { cacheDir: dir });
      const [v] = await j.score([item]);
      expect(vlm.stats.requests).toBe(asked + 2);
      expect(v.ok).toBe(true);
      expect(v.cached).toBeUndefined();
      expect(j.stats.cacheHits).toBe(0);
    });
  });
});
