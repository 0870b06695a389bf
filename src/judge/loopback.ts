// A loopback "VLM": an OpenAI-compatible chat-completions server on 127.0.0.1 that answers the
// judges' prompts (src/judge/prompts.ts) from the exact scorer plus seeded Gaussian noise, so the VLM
// client, calibration and the RL gate run end to end on this machine without a model. It knows the
// world edits it was given (source and target scenes, found by the source image's pixels):
//   viescore-sc  [Ins, Con] of the edited image against the target scene
//   viescore-pq  [Nat, Art] of the edited image alone (palette distance over every tone; Art from
//                the image's own roughness, as there is no target to compare edges with)
//   cec-task, cec-target  the Overall of the edited image against the scene the quoted CoT implies
// Each answer is round(clamp(exact + N(0, noise^2), 0, 10)), the noise drawn from a hash of the
// request (the same request gets the same answer). With `logprobs`, each score token carries the top
// log-probabilities of a Gaussian around the exact value, as a real VLM's digit distribution would.
// An image it does not know gets an answer that does not parse (a judge failure, as with a VLM that
// rambles).
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createImage, decodeImage, type RgbImage } from '../world/image.js';
import { TONE_NAMES } from '../world/palette.js';
import { Rng, hashSeed } from '../world/rng.js';
import type { Scene } from '../world/scene.js';
import { artifacts, naturalness, scoreEdit } from '../world/score.js';
import { sha256 } from './cache.js';
import { PROMPTS, type PromptId, promptOfText } from './prompts.js';
import { cotScene } from './scene.js';

export interface LoopbackEdit {
  source: RgbImage;
  sourceScene: Scene;
  targetScene: Scene;
}

export interface LoopbackOptions {
  /** standard deviation of the noise added to the exact scores (default 0.7) */
  noise?: number;
  seed?: number;
  /** latency added to every answer, ms (default 0) */
  delayMs?: number;
}

export interface LoopbackStats {
  requests: number;
  unknownImages: number;
}

const pixelHash = (img: RgbImage) => sha256(Buffer.concat([Buffer.from(`${img.width}x${img.height}:`), Buffer.from(img.data)]));

type Part = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

function gaussianTop(exact: number, sigma: number): { token: string; logprob: number }[] {
  const s = Math.max(sigma, 0.3);
  const w = Array.from({ length: 11 }, (_, k) => Math.exp(-((k - exact) ** 2) / (2 * s * s)));
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((x, k) => ({ token: String(k), logprob: Math.log(Math.max(x / z, 1e-30)) })).sort((a, b) => b.logprob - a.logprob);
}

export class LoopbackVlm {
  readonly stats: LoopbackStats = { requests: 0, unknownImages: 0 };
  private readonly edits = new Map<string, LoopbackEdit>();
  private server: Server | null = null;
  private readonly noise: number;
  private readonly seed: number;
  private readonly delayMs: number;

  constructor(edits: Iterable<LoopbackEdit>, opts: LoopbackOptions = {}) {
    for (const e of edits) this.edits.set(pixelHash(e.source), e);
    this.noise = opts.noise ?? 0.7;
    this.seed = opts.seed ?? 0;
    this.delayMs = opts.delayMs ?? 0;
    if (!(this.noise >= 0)) throw new Error(`LoopbackVlm: option 'noise' expected a number >= 0, received ${opts.noise}`);
  }

  /** The exact scores a prompt asks for (before noise), or null for an image it does not know. */
  async exactScores(id: PromptId, text: string, images: RgbImage[]): Promise<number[] | null> {
    if (id === 'viescore-pq') {
      const img = images[0];
      const nat = 10 * naturalness(img, TONE_NAMES);
      const art = 10 * artifacts(img, createImage(img.width, img.height)).noise;
      return [nat, art];
    }
    const edit = this.edits.get(pixelHash(images[0]));
    if (!edit) return null;
    const edited = images[1];
    if (id === 'viescore-sc') {
      const s = scoreEdit(edited, edit.sourceScene, edit.targetScene);
      return [s.ins, s.con];
    }
    const quoted = /^Reasoning: (.*)$/m.exec(text)?.[1]?.trim() ?? '';
    const implied = cotScene(edit.sourceScene, quoted === '(none)' ? '' : quoted);
    if ('error' in implied) return [0];
    return [scoreEdit(edited, edit.sourceScene, implied.scene).overall];
  }

  /** The answer to one chat-completions request body. */
  async answer(body: { messages?: { role: string; content: string | Part[] }[]; model?: string; logprobs?: boolean; top_logprobs?: number }): Promise<{ content: string; logprobs?: unknown }> {
    const user = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user' && Array.isArray(m.content)) ?? body.messages?.find((m) => m.role === 'user');
    const parts: Part[] = Array.isArray(user?.content) ? user.content : [{ type: 'text', text: String(user?.content ?? '') }];
    const text = parts.filter((p): p is Extract<Part, { type: 'text' }> => p.type === 'text').map((p) => p.text).join('\n');
    const id = promptOfText(text);
    if (!id) return { content: 'I can only answer the metacot judge prompts.' };
    const images = await Promise.all(
      parts.filter((p): p is Extract<Part, { type: 'image_url' }> => p.type === 'image_url').map((p) => decodeImage(Buffer.from(p.image_url.url.replace(/^data:[^,]*,/, ''), 'base64'))),
    );
    if (images.length !== PROMPTS[id].images.length) return { content: `I expected ${PROMPTS[id].images.length} image(s) and received ${images.length}.` };
    const exact = await this.exactScores(id, text, images);
    if (!exact) {
      this.stats.unknownImages++;
      return { content: 'I do not recognise this image, so I cannot score it.' };
    }
    const rng = new Rng(hashSeed('loopback', this.seed, sha256(JSON.stringify(parts.map((p) => (p.type === 'text' ? p.text : sha256(p.image_url.url)))))));
    const noisy = exact.map((e) => Math.round(Math.min(10, Math.max(0, e + this.noise * rng.gaussian()))));
    const content = `{"score": [${noisy.join(', ')}], "reasoning": "scored by the loopback judge from the exact scorer (${PROMPTS[id].scores.join(', ')} = ${exact.map((e) => e.toFixed(2)).join(', ')})"}`;
    if (!body.logprobs) return { content };
    // tokens: runs of digits and runs of everything else; each score is one token with its alternatives
    const tokens = content.match(/\d+|[^\d]+/g) ?? [];
    let k = 0;
    const listAt = content.indexOf('[');
    const listEnd = content.indexOf(']');
    let at = 0;
    const lp = tokens.map((token) => {
      const start = at;
      at += token.length;
      if (/^\d+$/.test(token) && start > listAt && start < listEnd) {
        const top = gaussianTop(exact[k++], this.noise).slice(0, body.top_logprobs ?? 5);
        const own = top.find((t) => t.token === token)?.logprob ?? Math.log(1e-6);
        return { token, logprob: own, bytes: null, top_logprobs: top.map((t) => ({ ...t, bytes: null })) };
      }
      return { token, logprob: 0, bytes: null, top_logprobs: [] };
    });
    return { content, logprobs: { content: lp, refusal: null } };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.stats.requests++;
    let body: Parameters<LoopbackVlm['answer']>[0];
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'the request body is not JSON' } }));
      return;
    }
    const a = await this.answer(body);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: `loopback-${this.stats.requests}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? 'loopback',
        choices: [{ index: 0, message: { role: 'assistant', content: a.content }, finish_reason: 'stop', logprobs: a.logprobs ?? null }],
        usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
      }),
    );
  }

  /** Starts listening on 127.0.0.1 (port 0: any free one); returns the base URL (…/v1). */
  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: (e as Error).message } }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = null;
    s.closeAllConnections?.();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
