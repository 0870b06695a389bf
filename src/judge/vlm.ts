// The VLM judges over any OpenAI-compatible endpoint (src/endpoint/client.ts): `viescore` asks the
// SC and PQ prompts (VIEScore: overall = sqrt(min(ins, con) * min(nat, art))), `cec` asks the CEC
// task and target prompts (overall = their mean). Images go as PNG data URLs (sharp). An answer that
// does not read is asked again with the reason (up to `parseRetries` times), then the item is a
// counted failure; an endpoint that fails for good (after its own retries) fails the item too. Parsed
// answers are cached on disk (cache.ts), so a rerun pays nothing twice.
import { join } from 'node:path';

import { EndpointClient, EndpointError, type ChatCompletionMessageParam } from '../endpoint/client.js';
import { encodePng, type RgbImage } from '../world/image.js';
import { expectedScores, parseAnswer } from './answer.js';
import { AnswerCache, cacheKey, sha256 } from './cache.js';
import { PROMPTS, PROMPT_VERSION, type PromptId, SYSTEM_PROMPT, promptText, retryText } from './prompts.js';
import { type Judge, type JudgeIdentity, type JudgeItem, type ScoreOptions, type Verdict, failed, identityName } from './types.js';

export type VlmJudgeKind = 'viescore' | 'cec';

export const VLM_PROMPTS: Readonly<Record<VlmJudgeKind, readonly PromptId[]>> = {
  viescore: ['viescore-sc', 'viescore-pq'],
  cec: ['cec-task', 'cec-target'],
};

export interface VlmJudgeOptions {
  /** folder of the answer cache (a file per judge identity inside); absent: no cache */
  cacheDir?: string;
  /** times an unreadable answer is asked again (default 2) */
  parseRetries?: number;
  /** read scores as expectations over the top log-probabilities where the endpoint returns them (default true) */
  logprobs?: boolean;
  temperature?: number;
  maxTokens?: number;
}

export interface VlmStats {
  items: number;
  failures: number;
  /** answers that did not read (each retried or, at the end, a failure) */
  unreadable: number;
  cacheHits: number;
}

interface Encoded {
  url: string;
  hash: string;
}

export class VlmJudge implements Judge {
  readonly identity: JudgeIdentity;
  readonly stats: VlmStats = { items: 0, failures: 0, unreadable: 0, cacheHits: 0 };
  private readonly cache: AnswerCache | null;

  constructor(
    readonly client: EndpointClient,
    readonly kind: VlmJudgeKind,
    readonly opts: VlmJudgeOptions = {},
  ) {
    if (!(kind in VLM_PROMPTS)) throw new Error(`VlmJudge: argument 'kind' expected 'viescore' | 'cec', received ${JSON.stringify(kind)}`);
    this.identity = { kind: `vlm-${kind}`, model: client.model, version: PROMPT_VERSION };
    this.cache = opts.cacheDir ? new AnswerCache(join(opts.cacheDir, `${identityName(this.identity)}.jsonl`)) : null;
  }

  private async encode(img: RgbImage): Promise<Encoded> {
    const png = await encodePng(img);
    return { url: `data:image/png;base64,${png.toString('base64')}`, hash: sha256(png) };
  }

  /** One prompt for one item: its scores by name, or why it failed. */
  private async ask(id: PromptId, item: JudgeItem, images: Record<'source' | 'edited', Encoded>): Promise<{ scores: number[]; reasoning: string; cached: boolean } | Verdict> {
    const spec = PROMPTS[id];
    const text = promptText(id, item);
    const key = cacheKey([this.client.model, PROMPT_VERSION, id, SYSTEM_PROMPT, text, ...spec.images.map((k) => images[k].hash)]);
    const hit = this.cache?.get(key);
    if (hit) {
      const p = parseAnswer(hit.content, spec.scores.length);
      if (p.ok) {
        this.stats.cacheHits++;
        return { scores: this.opts.logprobs === false ? p.scores : expectedScores(p, hit.logprobs), reasoning: p.reasoning, cached: true };
      }
    }
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: SYSTEM_PROMPT },
      {
        role: 'user',
        content: [...spec.images.map((k) => ({ type: 'image_url' as const, image_url: { url: images[k].url } })), { type: 'text' as const, text }],
      },
    ];
    const tries = 1 + (this.opts.parseRetries ?? 2);
    let reason = '';
    for (let t = 0; t < tries; t++) {
      let answer;
      try {
        answer = await this.client.chat(messages, {
          temperature: this.opts.temperature ?? 0,
          maxTokens: this.opts.maxTokens ?? 256,
          ...(this.opts.logprobs !== false && { topLogprobs: 20 }),
        });
      } catch (e) {
        if (!(e instanceof EndpointError)) throw e;
        return failed(item.id, e.kind === 'timeout' ? 'timeout' : 'endpoint', `${id}: ${e.message}`);
      }
      const p = parseAnswer(answer.content, spec.scores.length);
      if (p.ok) {
        await this.cache?.put(key, { content: answer.content, ...(answer.logprobs && { logprobs: answer.logprobs }) });
        return { scores: this.opts.logprobs === false ? p.scores : expectedScores(p, answer.logprobs), reasoning: p.reasoning, cached: false };
      }
      this.stats.unreadable++;
      reason = p.reason;
      messages.push({ role: 'assistant', content: answer.content }, { role: 'user', content: retryText(p.reason, spec.scores.length) });
    }
    return failed(item.id, 'unparseable', `${id}: no readable answer in ${tries} tries (last: ${reason})`);
  }

  async scoreOne(item: JudgeItem): Promise<Verdict> {
    if (this.kind === 'cec' && (item.cot ?? '').trim() === '') {
      const why = 'no CoT to check the edit against';
      return { id: item.id, ok: true, overall: 0, scores: { task: 0, target: 0 }, reasons: [why], cotError: why };
    }
    const images = { source: await this.encode(item.source), edited: await this.encode(item.edited) };
    const parts = await Promise.all(VLM_PROMPTS[this.kind].map((id) => this.ask(id, item, images)));
    const bad = parts.find((p): p is Verdict => 'ok' in p);
    if (bad) return bad;
    const scores: Record<string, number> = {};
    const reasons: string[] = [];
    let cached = true;
    VLM_PROMPTS[this.kind].forEach((id, i) => {
      const r = parts[i] as { scores: number[]; reasoning: string; cached: boolean };
      PROMPTS[id].scores.forEach((name, k) => (scores[name] = r.scores[k]));
      if (r.reasoning) reasons.push(`${id}: ${r.reasoning}`);
      cached &&= r.cached;
    });
    const overall = this.kind === 'viescore' ? Math.sqrt(Math.min(scores.ins, scores.con) * Math.min(scores.nat, scores.art)) : (scores.task + scores.target) / 2;
    return { id: item.id, ok: true, overall, scores, reasons, ...(cached && { cached }) };
  }

  async score(items: readonly JudgeItem[], opts: ScoreOptions = {}): Promise<Verdict[]> {
    let done = 0;
    // every item at once: the client keeps at most its concurrency in flight
    return Promise.all(
      items.map(async (item) => {
        const v = await this.scoreOne(item);
        this.stats.items++;
        if (!v.ok) this.stats.failures++;
        opts.onItem?.(++done, v);
        return v;
      }),
    );
  }
}
