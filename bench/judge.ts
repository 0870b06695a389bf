// npm run bench -- judge [--quick] [--items=N] [--requests=N] [--concurrency=N]
// The judges' throughput on this machine.
//   scene/*   the exact scene judges over world edits (32x32, every category), samples/s; the peer is
//             the bare exact scorer (src/world/score.ts) on the same images and scenes, so the ratio
//             is what the judge layer costs on top of it (cec also parses its CoT and applies it).
//   client    the endpoint client (src/endpoint/client.ts: the openai package, the semaphore, the
//             retry loop) against a server in a child process that answers every request at once
//             with a fixed JSON answer, requests/s at --concurrency (default 16); the peer is plain
//             `fetch` POSTing the same bodies at the same concurrency to the same server. The note
//             gives the client's overhead per request, (T_client - T_fetch) / N.
//   loopback  the VLM judge (VIEScore: two prompts, PNG data URLs) against the loopback VLM in a
//             child process, requests/s at --concurrency; the peer is plain `fetch` sending the same
//             prompts, so the ratio is what the judge costs on top of the wire (PNG encode, hashing,
//             parsing).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { cotForEdit } from '../src/cot/build.js';
import { EndpointClient } from '../src/endpoint/client.js';
import { SYSTEM_PROMPT, promptText } from '../src/judge/prompts.js';
import { SceneJudge } from '../src/judge/scene.js';
import type { JudgeItem } from '../src/judge/types.js';
import { VlmJudge } from '../src/judge/vlm.js';
import { CATEGORY_NAMES } from '../src/world/categories.js';
import { generateDataset } from '../src/world/dataset.js';
import { decodeImage, encodePng } from '../src/world/image.js';
import { readWorldManifest } from '../src/world/manifest.js';
import { renderScene } from '../src/world/render.js';
import { generateEdit } from '../src/world/sample.js';
import { scoreEdit } from '../src/world/score.js';
import { type BenchOptions, type BenchRow, intArg, ratioHigher } from './types.js';


function worldItems(n: number): JudgeItem[] {
  const out: JudgeItem[] = [];
  for (let i = 0; out.length < n; i++) {
    const category = CATEGORY_NAMES[i % CATEGORY_NAMES.length];
    const { edit } = generateEdit(category, 1000 + i);
    out.push({
      id: `${category}-${i}`,
      source: renderScene(edit.source).image,
      edited: renderScene(edit.target).image,
      instruction: edit.instruction,
      cot: cotForEdit(edit, 'meta'),
      sourceScene: edit.source,
      targetScene: edit.target,
      category,
    });
  }
  return out;
}

async function rate(n: number, fn: () => Promise<unknown>): Promise<{ perSecond: number; seconds: number }> {
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  return { perSecond: n / seconds, seconds };
}

/** A server in a child process; resolves with its base URL once it listens. */
async function childServer(script: string, args: string[] = []): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /LISTEN (\S+)/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`bench judge: the server exited (${code}) before listening`)));
  });
  return { url, child };
}

const FIXED_SERVER = `
import { createServer } from 'node:http';
const answer = JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'fixed',
  choices: [{ index: 0, message: { role: 'assistant', content: '{"score": [7, 8], "reasoning": "fixed"}' }, finish_reason: 'stop', logprobs: null }] });
const s = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(answer)); });
s.listen(0, '127.0.0.1', () => console.log('LISTEN http://127.0.0.1:' + s.address().port + '/v1'));
`;

const LOOPBACK_SERVER = `
import { join } from 'node:path';
import { LoopbackVlm } from './src/judge/loopback.ts';
import { readWorldManifest } from './src/world/manifest.ts';
import { decodeImage } from './src/world/image.ts';
const world = process.argv[process.argv.length - 1];
const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
const vlm = new LoopbackVlm(await Promise.all(lines.map(async (l) => ({ source: await decodeImage(join(world, l.source)), sourceScene: l.world.sourceScene, targetScene: l.world.targetScene }))));
console.log('LISTEN ' + await vlm.listen(0));
`;

/** n POSTs of `body(i)` with plain fetch, `concurrency` at a time. */
async function fetchAll(url: string, n: number, concurrency: number, body: (i: number) => string): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const r = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer no-key' }, body: body(i) });
      if (!r.ok) throw new Error(`bench judge: HTTP ${r.status}`);
      await r.json();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function allAtOnce(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) await fn(next++);
  }));
}

export async function run(opts: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const nItems = intArg('judge', opts.args, 'items', opts.quick ? 84 : 840);
  const nReq = intArg('judge', opts.args, 'requests', opts.quick ? 300 : 3000);
  const conc = intArg('judge', opts.args, 'concurrency', 16);

  // scene judges vs the bare scorer
  const items = worldItems(nItems);
  for (const kind of ['gt', 'cec'] as const) {
    const judge = new SceneJudge(kind);
    await judge.score(items.slice(0, 21));
    const ours = await rate(items.length, () => judge.score(items));
    const peer = await rate(items.length, async () => {
      for (const it of items) scoreEdit(it.edited, it.sourceScene!, it.targetScene!);
    });
    rows.push({ name: `scene/${kind}`, ours: ours.perSecond, peer: peer.perSecond, unit: 'samples/s', ratio: ratioHigher(ours.perSecond, peer.perSecond), note: `peer: scoreEdit alone; ${items.length} edits at 32x32` });
  }

  // the endpoint client vs plain fetch, against a server that answers at once
  const fixed = await childServer(FIXED_SERVER);
  try {
    const messages = (i: number) => [{ role: 'system' as const, content: SYSTEM_PROMPT }, { role: 'user' as const, content: `request ${i}: score this` }];
    const client = new EndpointClient({ endpoint: fixed.url, model: 'fixed', concurrency: conc });
    await allAtOnce(50, conc, (i) => client.chat(messages(i)));
    await fetchAll(fixed.url, 50, conc, (i) => JSON.stringify({ model: 'fixed', messages: messages(i) }));
    const peer = await rate(nReq, () => fetchAll(fixed.url, nReq, conc, (i) => JSON.stringify({ model: 'fixed', messages: messages(i) })));
    const ours = await rate(nReq, () => Promise.all(Array.from({ length: nReq }, (_, i) => client.chat(messages(i)))));
    const overheadUs = ((ours.seconds - peer.seconds) / nReq) * 1e6;
    rows.push({
      name: `client@${conc}`,
      ours: ours.perSecond,
      peer: peer.perSecond,
      unit: 'requests/s',
      ratio: ratioHigher(ours.perSecond, peer.perSecond),
      note: `peer: fetch; overhead ${overheadUs.toFixed(0)} us/request; at most ${client.stats.maxInFlight} in flight`,
    });
  } finally {
    fixed.child.kill();
  }

  // the VLM judge vs plain fetch of the same prompts, against the loopback VLM
  const dir = mkdtempSync(join(tmpdir(), 'metacot-bench-judge-'));
  const nEdits = Math.max(21, Math.round(nReq / 20));
  await generateDataset({ out: dir, n: Math.ceil(nEdits / 21), categories: CATEGORY_NAMES, seed: 3, qaPerSample: 0, cotFor: (e) => cotForEdit(e, 'meta') });
  const loop = await childServer(LOOPBACK_SERVER, [dir]);
  try {
    const lines = await readWorldManifest(join(dir, 'manifest.jsonl'));
    const edits: JudgeItem[] = await Promise.all(
      lines.map(async (l) => ({ id: l.id, source: await decodeImage(join(dir, l.source)), edited: await decodeImage(join(dir, l.target!)), instruction: l.instruction, cot: l.cot })),
    );
    const judge = new VlmJudge(new EndpointClient({ endpoint: loop.url, model: 'loopback', concurrency: conc }), 'viescore');
    await judge.score(edits.slice(0, 8));
    const ours = await rate(2 * edits.length, () => judge.score(edits));
    // the peer sends the same two prompts per edit, images pre-encoded
    const bodies: string[] = [];
    for (const e of edits) {
      const src = `data:image/png;base64,${(await encodePng(e.source)).toString('base64')}`;
      const ed = `data:image/png;base64,${(await encodePng(e.edited)).toString('base64')}`;
      for (const [id, imgs] of [['viescore-sc', [src, ed]], ['viescore-pq', [ed]]] as const)
        bodies.push(JSON.stringify({ model: 'loopback', temperature: 0, max_tokens: 256, logprobs: true, top_logprobs: 20, messages: [{ role: 'system', content: SYSTEM_PROMPT }, { role: 'user', content: [...imgs.map((url) => ({ type: 'image_url', image_url: { url } })), { type: 'text', text: promptText(id, e) }] }] }));
    }
    const peer = await rate(bodies.length, () => fetchAll(loop.url, bodies.length, conc, (i) => bodies[i]));
    rows.push({
      name: `loopback@${conc}`,
      ours: ours.perSecond,
      peer: peer.perSecond,
      unit: 'requests/s',
      ratio: ratioHigher(ours.perSecond, peer.perSecond),
      note: `VIEScore over ${edits.length} world edits (2 prompts each); peer: fetch of the same prompts; ${judge.stats.failures} failures`,
    });
  } finally {
    loop.child.kill();
  }
  return rows;
}
