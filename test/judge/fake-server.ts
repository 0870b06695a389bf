// A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for the endpoint tests: each
// request goes to `reply`, which returns the answer text or an HTTP status (with optional delay and
// headers). It counts requests, the most in flight at once, the arrival times and the headers seen.
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Reply {
  content?: string;
  status?: number;
  delayMs?: number;
  headers?: Record<string, string>;
  /** A 200 answer's whole JSON body, sent as given instead of the usual completion around `content`. */
  body?: unknown;
}

export interface RequestSeen {
  body: { model: string; messages: { role: string; content: unknown }[]; [k: string]: unknown };
  headers: IncomingMessage['headers'];
  at: number;
}

export class FakeServer {
  requests: RequestSeen[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private server: Server | null = null;

  constructor(public reply: (req: RequestSeen, n: number) => Reply | Promise<Reply>) {}

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const seen: RequestSeen = { body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers, at: performance.now() };
    this.requests.push(seen);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const r = await this.reply(seen, this.requests.length);
      if (r.delayMs) await new Promise((ok) => setTimeout(ok, r.delayMs));
      if (res.destroyed) return;
      if (r.status && r.status !== 200) {
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers }).end(JSON.stringify({ error: { message: `scripted ${r.status}` } }));
        return;
      }
      if (r.body !== undefined) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r.body));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `fake-${this.requests.length}`,
          object: 'chat.completion',
          created: 0,
          model: seen.body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: r.content ?? '' }, finish_reason: 'stop', logprobs: null }],
        }),
      );
    } finally {
      this.inFlight--;
    }
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((ok) => s.close(() => ok()));
  }
}

/** The user text of a request (the prompt's heading is its first line). */
export function userText(req: RequestSeen): string {
  const user = req.body.messages.find((m) => m.role === 'user');
  const c = user?.content;
  if (typeof c === 'string') return c;
  return (c as { type: string; text?: string }[]).filter((p) => p.type === 'text').map((p) => p.text).join('\n');
}

/** The number of image parts of a request's first user message. */
export function imageCount(req: RequestSeen): number {
  const c = req.body.messages.find((m) => m.role === 'user')?.content;
  return Array.isArray(c) ? c.filter((p: { type: string }) => p.type === 'image_url').length : 0;
}
