// The annotator against a fake OpenAI-compatible server on loopback: good answers, malformed
// answers, slow answers (past the timeout), HTTP 500s and answers that contradict the edit; the
// counts it reports, a manifest with nothing lost, and reruns that resume.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { annotateManifest, journalPath } from '../../src/cot/annotate.js';
import { cotForEdit } from '../../src/cot/build.js';
import { checkManifestLines, editOfLine } from '../../src/cot/check.js';
import { extractCot } from '../../src/cot/prompt.js';
import { generateDataset } from '../../src/world/dataset.js';
import { type ManifestLine, readManifest } from '../../src/world/manifest.js';

type Reply = { status?: number; delayMs?: number; content?: string };
type Behaviour = (id: string, nth: number, body: ChatBody) => Reply;
interface ChatBody {
  model: string;
  messages: { role: string; content: string | { type: string; text?: string; image_url?: { url: string } }[] }[];
}

/** A minimal chat-completions server: per request it asks the behaviour what to answer. */
class FakeServer {
  private server: Server | null = null;
  private timers = new Set<NodeJS.Timeout>();
  readonly seen = new Map<string, ChatBody[]>();
  behaviour: Behaviour = () => ({ content: '' });

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  requests(id: string): number {
    return this.seen.get(id)?.length ?? 0;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(raw) as ChatBody;
    const user = body.messages.find((m) => m.role === 'user')!;
    const text = typeof user.content === 'string' ? user.content : user.content.map((p) => p.text ?? '').join('\n');
    const id = /Edit id: (\S+)/.exec(text)![1];
    const list = this.seen.get(id) ?? [];
    list.push(body);
    this.seen.set(id, list);
    const reply = this.behaviour(id, list.length - 1, body);
    const send = () => {
      if (res.destroyed) return;
      if (reply.status && reply.status !== 200) {
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${id}-${list.length}`,
          object: 'chat.completion',
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: reply.content ?? '' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    };
    if (reply.delayMs) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        send();
      }, reply.delayMs);
      this.timers.add(t);
    } else send();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server?.closeAllConnections();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

let dir = '';
let manifest = '';
let lines: ManifestLine[] = [];
let ids: string[] = [];
const good = new Map<string, string>();
const server = new FakeServer();
let endpoint = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'metacot-annotate-'));
  await generateDataset({ out: dir, n: 3, categories: ['color_alter', 'subject_add'], seed: 9, qaPerSample: 0 });
  manifest = join(dir, 'manifest.jsonl');
  lines = await readManifest(manifest);
  ids = lines.map((l) => l.id!);
  for (const l of lines) good.set(l.id!, cotForEdit(editOfLine(l), 'meta'));
  endpoint = await server.start();
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** How a chat model might wrap a good answer. */
const wrapped = (id: string) => `Here is the chain of thought:\n\`\`\`text\n${good.get(id)}\n\`\`\`\nLet me know if you need more.`;

describe('annotate against a fake OpenAI-compatible server', () => {
  it('accepts good answers, retries bad ones, rejects what never passes, loses nothing', async () => {
    const [okId, malformedId, slowId, failingId, hopelessId, contradictId] = ids;
    server.behaviour = (id, nth) => {
      if (id === malformedId && nth === 0) return { content: 'I would make the letter a different colour.' };
      if (id === slowId && nth === 0) return { delayMs: 2000, content: wrapped(id) };
      if (id === failingId && nth === 0) return { status: 500 };
      if (id === hopelessId) return { content: '<summary> meta : add </summary> <thinking> </thinking> <traversal> nonsense </traversal>' };
      if (id === contradictId && nth === 0) return { content: good.get(id)!.replace(/\] add ;/, '] keep ;') };
      return { content: wrapped(id) };
    };
    const out = join(dir, 'annotated.jsonl');
    const r = await annotateManifest({ manifest, out, endpoint, model: 'fake-vl', concurrency: 3, timeoutMs: 400, attempts: 3 });
    expect(r).toMatchObject({
      total: 6, skipped: 0, attempted: 6, accepted: 5, retried: 4, retries: 6, rejected: 1, rejectedIds: [hopelessId], requests: 12,
      errors: { http: 1, timeout: 1, connection: 0, empty: 0, parse: 4, consistency: 1 },
    });
    expect(server.requests(okId)).toBe(1);
    expect(server.requests(hopelessId)).toBe(3);

    // the request: system grammar, instruction, category composition, both pictures as data URLs
    const first = server.seen.get(okId)![0];
    expect(first.model).toBe('fake-vl');
    expect(first.messages[0]).toMatchObject({ role: 'system' });
    expect(first.messages[0].content).toMatch(/<summary> meta : M , M/);
    const parts = first.messages[1].content as { type: string; text?: string; image_url?: { url: string } }[];
    expect(parts[0].text).toContain(`Instruction: ${lines[0].instruction}`);
    expect(parts[0].text).toContain('Category: color_alter (composed of: replace;');
    expect(parts.filter((p) => p.type === 'image_url').map((p) => p.image_url!.url.slice(0, 22))).toEqual(['data:image/png;base64,', 'data:image/png;base64,']);
    // a rejected answer goes back with its reason
    const retry = server.seen.get(malformedId)![1].messages;
    expect(retry.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(retry[3].content).toMatch(/^That chain of thought was rejected: cot: at char 0 \(word 1\): expected "<summary>"/);
    expect(server.seen.get(contradictId)![1].messages[3].content).toMatch(/the traversal keeps everything/);

    // nothing lost: every input line, in order, fields as they were; accepted ones carry the CoT
    const written = await readManifest(out);
    expect(written.map((l) => l.id)).toEqual(ids);
    written.forEach((l, i) => {
      const { cot, ...rest } = l;
      expect(rest).toEqual(lines[i]);
      expect(cot).toBe(l.id === hopelessId ? undefined : good.get(l.id!));
    });
    expect(existsSync(journalPath(out))).toBe(false);
    expect(checkManifestLines(written)).toMatchObject({ withCot: 5, parsed: 5, valid: 5, exact: 5 });

    // a rerun skips what is done and retries only the rejected line
    server.seen.clear();
    server.behaviour = (id) => ({ content: wrapped(id) });
    const again = await annotateManifest({ manifest, out, endpoint, model: 'fake-vl', concurrency: 3, timeoutMs: 400 });
    expect(again).toMatchObject({ total: 6, skipped: 5, attempted: 1, accepted: 1, rejected: 0, requests: 1 });
    expect([...server.seen.keys()]).toEqual([hopelessId]);
    expect(checkManifestLines(await readManifest(out))).toMatchObject({ withCot: 6, exact: 6 });
  });

  it('resumes from the journal of a run that died (a torn last line is redone)', async () => {
    const out = join(dir, 'resumed.jsonl');
    await writeFile(journalPath(out), `${JSON.stringify({ key: ids[0], cot: good.get(ids[0]) })}\n${JSON.stringify({ key: ids[1], cot: good.get(ids[1]) })}\n{"key": "${ids[2]}", "co`);
    server.seen.clear();
    server.behaviour = (id) => ({ content: good.get(id)! });
    const r = await annotateManifest({ manifest, out, endpoint, model: 'fake-vl', concurrency: 2, timeoutMs: 2000, images: false });
    expect(r).toMatchObject({ total: 6, skipped: 2, accepted: 4, rejected: 0, requests: 4 });
    expect(server.requests(ids[0]) + server.requests(ids[1])).toBe(0);
    // without pictures the request says so and carries none
    const parts = server.seen.get(ids[2])![0].messages[1].content as { type: string; text?: string }[];
    expect(parts.map((p) => p.type)).toEqual(['text']);
    expect(parts[0].text).toContain('No image is attached');
    expect(checkManifestLines(await readManifest(out))).toMatchObject({ withCot: 6, exact: 6 });
  });

  it('an unreachable endpoint counts connection failures and rejects, keeping every line', async () => {
    const out = join(dir, 'unreachable.jsonl');
    const r = await annotateManifest({ manifest, out, endpoint: 'http://127.0.0.1:9/v1', model: 'x', attempts: 2, timeoutMs: 2000, images: false });
    expect(r).toMatchObject({ accepted: 0, rejected: 6, errors: { connection: 12 } });
    expect((await readFile(out, 'utf8')).trim().split('\n')).toHaveLength(6);
  });

  it('extractCot takes the CoT out of prose and code fences', () => {
    const cot = good.get(ids[0])!;
    expect(extractCot(wrapped(ids[0]))).toBe(cot);
    expect(extractCot(`  ${cot.split(' ').join('\n')}  `)).toBe(cot);
    expect(extractCot('no tags here')).toBe('no tags here');
  });
});
