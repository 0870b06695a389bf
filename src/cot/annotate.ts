// The annotator: asks an OpenAI-compatible chat endpoint (vLLM serving a VLM, say) to write the
// CoT of every edit of a manifest in the project's grammar. Every answer is parsed and validated; a
// bad one is retried with the reason, an HTTP error or a timeout is retried too; an answer that
// contradicts the edit (meta-tasks outside the category's composition, or for world lines a scene
// that is not the target) is rejected. Accepted CoTs go to a journal as they come, so a run that
// dies loses nothing and a rerun skips what is done; the output manifest is written atomically at
// the end with every input line, annotated or not.

import { appendFile, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, join } from 'node:path';
import { type ChatCompletionMessageParam, EndpointClient, EndpointError } from '../endpoint/client.js';
import { writeFileAtomic } from '../world/atomic.js';
import { type ManifestLine, parseManifest } from '../world/manifest.js';
import { hashSeed } from '../world/rng.js';
import { scenesEqual } from '../world/scene.js';
import { CotApplyError, impliedScene } from './apply.js';
import { CotTypeError } from './ops.js';
import { tryParseCot } from './parse.js';
import { type AnnotateVariant, type EditRequest, extractCot, retryContent, systemPrompt, userContent } from './prompt.js';
import { formatProblems, validateCot } from './validate.js';

export interface AnnotateOptions {
  /** Input manifest (JSONL). */
  manifest: string;
  /** Output manifest; may be the input (rewritten atomically). */
  out: string;
  /** Base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:8000/v1. */
  endpoint: string;
  model: string;
  /** Environment variable that holds the API key (default OPENAI_API_KEY); the key is never logged. */
  apiKeyEnv?: string;
  variant?: AnnotateVariant;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Per-request timeout in ms (default 120000). */
  timeoutMs?: number;
  /** Tries per line, the first included (default 3). */
  attempts?: number;
  /** Send the source (and target) images as data URLs (default true). */
  images?: boolean;
  temperature?: number;
  maxTokens?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface AnnotateReport {
  total: number;
  /** Lines that already had a CoT (in the input, the output or the journal of an earlier run). */
  skipped: number;
  attempted: number;
  accepted: number;
  /** Accepted lines that needed more than one try. */
  retried: number;
  /** Tries beyond the first, over all lines. */
  retries: number;
  rejected: number;
  rejectedIds: string[];
  /** Why tries failed. */
  errors: { http: number; timeout: number; connection: number; empty: number; parse: number; consistency: number };
  requests: number;
  out: string;
  seconds: number;
}

interface Journal {
  key: string;
  cot: string;
}

/** Stable key of a manifest line: its id, else its position and content. */
export function lineKey(line: ManifestLine, index: number): string {
  return line.id ?? `line${index}:${hashSeed(line.source, line.instruction)}`;
}

export function journalPath(out: string): string {
  return `${out}.annotate.jsonl`;
}

async function readJournal(path: string): Promise<Map<string, string>> {
  const done = new Map<string, string>();
  if (!existsSync(path)) return done;
  for (const raw of (await readFile(path, 'utf8')).split('\n')) {
    if (raw.trim() === '') continue;
    try {
      const j = JSON.parse(raw) as Journal;
      if (typeof j.key === 'string' && typeof j.cot === 'string') done.set(j.key, j.cot);
    } catch {
      // A line torn by a crash mid-append: that line is simply redone.
    }
  }
  return done;
}

const MIME: Readonly<Record<string, string>> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };

async function dataUrl(root: string, path: string): Promise<string> {
  const file = isAbsolute(path) ? path : join(root, path);
  const mime = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
  return `data:${mime};base64,${(await readFile(file)).toString('base64')}`;
}

type Verdict = { ok: true; cot: string } | { ok: false; kind: 'empty' | 'parse' | 'consistency'; reason: string };

/** Parses and checks one answer against its line. */
export function judgeAnswer(answer: string, line: ManifestLine, variant: AnnotateVariant): Verdict {
  const cot = extractCot(answer);
  if (cot === '') return { ok: false, kind: 'empty', reason: 'the answer was empty' };
  const r = tryParseCot(cot, { mode: line.world ? 'world' : 'open' });
  if (!r.ok) return { ok: false, kind: 'parse', reason: r.error.message };
  if (r.parsed.cot.variant !== variant) {
    return { ok: false, kind: 'parse', reason: `expected a ${variant} CoT (${variant === 'meta' ? '<summary> meta : ...' : '<summary> task : ...'}), got a ${r.parsed.cot.variant} one` };
  }
  const problems = validateCot(r.parsed, { category: line.category, source: line.world?.sourceScene });
  if (problems.length > 0) return { ok: false, kind: 'consistency', reason: formatProblems(problems) };
  if (line.world) {
    try {
      if (!scenesEqual(impliedScene(line.world.sourceScene, r.parsed.cot), line.world.targetScene)) {
        return { ok: false, kind: 'consistency', reason: 'the traversal applied to the source picture does not give the edited picture' };
      }
    } catch (err) {
      if (!(err instanceof CotApplyError) && !(err instanceof CotTypeError)) throw err;
      return { ok: false, kind: 'consistency', reason: err.message };
    }
  }
  return { ok: true, cot };
}

export async function annotateManifest(opts: AnnotateOptions): Promise<AnnotateReport> {
  const t0 = performance.now();
  const variant = opts.variant ?? 'meta';
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const attempts = Math.max(1, opts.attempts ?? 3);
  const timeout = opts.timeoutMs ?? 120_000;
  const root = dirname(opts.manifest);
  let text: string;
  try {
    text = await readFile(opts.manifest, 'utf8');
  } catch (err) {
    throw new Error(`annotate: cannot read --manifest ${opts.manifest}: ${(err as Error).message}`);
  }
  const lines = parseManifest(text, opts.manifest);
  // The raw objects keep the input's field order; only `cot` is set on them.
  const raw = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
  const keys = lines.map(lineKey);

  const journal = journalPath(opts.out);
  const done = await readJournal(journal);
  if (existsSync(opts.out) && opts.out !== opts.manifest) {
    const prev = parseManifest(await readFile(opts.out, 'utf8'), opts.out);
    prev.forEach((l, i) => {
      if (l.cot !== undefined && l.cot !== '') done.set(lineKey(l, i), l.cot);
    });
  }

  const report: AnnotateReport = {
    total: lines.length,
    skipped: 0,
    attempted: 0,
    accepted: 0,
    retried: 0,
    retries: 0,
    rejected: 0,
    rejectedIds: [],
    errors: { http: 0, timeout: 0, connection: 0, empty: 0, parse: 0, consistency: 0 },
    requests: 0,
    out: opts.out,
    seconds: 0,
  };
  const todo: number[] = [];
  lines.forEach((l, i) => {
    const prior = l.cot !== undefined && l.cot !== '' ? l.cot : done.get(keys[i]);
    if (prior !== undefined) {
      raw[i].cot = prior;
      report.skipped++;
    } else todo.push(i);
  });

  // The shared endpoint client (src/endpoint/client.ts) without its own retries: a failed try here is
  // counted and retried by the loop below, which also retries answers that do not parse.
  const client = new EndpointClient({ endpoint: opts.endpoint, model: opts.model, apiKeyEnv: opts.apiKeyEnv, concurrency, timeoutMs: timeout, retries: 0 });
  const system = systemPrompt(variant);
  let finished = 0;

  const annotateOne = async (i: number): Promise<void> => {
    const line = lines[i];
    const req: EditRequest = { id: line.id ?? keys[i], instruction: line.instruction, category: line.category };
    if (opts.images ?? true) {
      req.sourceImage = await dataUrl(root, line.source);
      if (line.target) req.targetImage = await dataUrl(root, line.target);
    }
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: system },
      { role: 'user', content: userContent(req) },
    ];
    report.attempted++;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) report.retries++;
      let answer: string;
      try {
        report.requests++;
        answer = (await client.chat(messages, { temperature: opts.temperature ?? 0.2, ...(opts.maxTokens ? { maxTokens: opts.maxTokens } : {}) })).content;
      } catch (err) {
        if (!(err instanceof EndpointError)) throw err;
        if (err.kind === 'timeout') report.errors.timeout++;
        else if (err.kind === 'connection') report.errors.connection++;
        else report.errors.http++;
        // Back off a little before the next try; the messages stay as they were.
        await new Promise((r) => setTimeout(r, 25 * (attempt + 1)));
        continue;
      }
      const v = judgeAnswer(answer, line, variant);
      if (v.ok) {
        raw[i].cot = v.cot;
        await appendFile(journal, `${JSON.stringify({ key: keys[i], cot: v.cot } satisfies Journal)}\n`);
        report.accepted++;
        if (attempt > 0) report.retried++;
        return;
      }
      report.errors[v.kind]++;
      messages.push({ role: 'assistant', content: answer }, { role: 'user', content: retryContent(v.reason) });
    }
    report.rejected++;
    report.rejectedIds.push(req.id);
  };

  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const i = todo[next++];
      await annotateOne(i);
      opts.onProgress?.(++finished, todo.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));

  await writeFileAtomic(opts.out, raw.map((r) => JSON.stringify(r)).join('\n') + (raw.length > 0 ? '\n' : ''));
  // Everything accepted is in the output now; the journal only matters for a run that died.
  await rm(journal, { force: true });
  report.rejectedIds.sort();
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
