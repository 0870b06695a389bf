// One client for OpenAI-compatible chat-completions endpoints (vLLM serving Qwen2.5-VL, say), shared
// by the VLM judges and `cot annotate`: the `openai` package for the protocol, and around it what a
// long batch job needs — at most `concurrency` requests in flight, a per-request timeout, retries of
// what may pass on a second try (429, 5xx, timeouts, refused connections) with exponential backoff
// and jitter, and counters. The API key comes from an environment variable only; it is never part of
// an error message, a log line or a cache key.
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

export type { ChatCompletionMessageParam };

export interface EndpointConfig {
  /** Base URL of the API, e.g. http://127.0.0.1:8000/v1 */
  endpoint: string;
  model: string;
  /** Name of the environment variable that holds the API key (default OPENAI_API_KEY); unset: no key. */
  apiKeyEnv?: string;
  /** Requests in flight at once (default 8). */
  concurrency?: number;
  /** Per-request timeout in ms (default 120000). */
  timeoutMs?: number;
  /** Tries beyond the first for a retryable failure (default 4; 0 = none). */
  retries?: number;
  /** First backoff in ms (default 500); it doubles per retry, up to maxBackoffMs (default 20000). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** [0, 1) source for the jitter (default Math.random). */
  random?: () => number;
}

export interface ChatParams {
  temperature?: number;
  maxTokens?: number;
  /** ask for this many top log-probabilities per token (vLLM and OpenAI return them) */
  topLogprobs?: number;
}

/** One answer token with its most likely alternatives (when top log-probabilities were asked for). */
export interface TokenLogprobs {
  token: string;
  logprob: number;
  top: { token: string; logprob: number }[];
}

export interface ChatAnswer {
  content: string;
  logprobs?: TokenLogprobs[];
  /** tries it took (1 = first) */
  tries: number;
}

export type EndpointErrorKind = 'timeout' | 'connection' | 'rate-limit' | 'server' | 'client';

/** A request that failed for good (after its retries, or at once when retrying cannot help). */
export class EndpointError extends Error {
  constructor(
    readonly kind: EndpointErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'EndpointError';
  }
}

export interface EndpointStats {
  /** HTTP requests sent (every try) */
  requests: number;
  /** tries beyond the first */
  retries: number;
  /** answers received */
  ok: number;
  /** failed tries by kind */
  errors: Record<EndpointErrorKind, number>;
  /** the most requests ever in flight at once */
  maxInFlight: number;
}

function classify(err: unknown): { kind: EndpointErrorKind; status?: number; retryAfterMs?: number } | null {
  if (err instanceof APIConnectionTimeoutError) return { kind: 'timeout' };
  if (err instanceof APIConnectionError) return { kind: 'connection' };
  if (err instanceof APIError) {
    const status = err.status ?? 0;
    const ra = Number(err.headers?.get?.('retry-after'));
    const retryAfterMs = Number.isFinite(ra) && ra >= 0 ? ra * 1000 : undefined;
    if (status === 429) return { kind: 'rate-limit', status, retryAfterMs };
    if (status >= 500) return { kind: 'server', status, retryAfterMs };
    return { kind: 'client', status };
  }
  return null;
}

const RETRYABLE: ReadonlySet<EndpointErrorKind> = new Set(['timeout', 'connection', 'rate-limit', 'server']);

export class EndpointClient {
  readonly model: string;
  readonly endpoint: string;
  readonly stats: EndpointStats = { requests: 0, retries: 0, ok: 0, errors: { timeout: 0, connection: 0, 'rate-limit': 0, server: 0, client: 0 }, maxInFlight: 0 };
  private readonly client: OpenAI;
  private readonly cfg: Required<Omit<EndpointConfig, 'apiKeyEnv'>>;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(cfg: EndpointConfig) {
    const pos = (name: string, v: number | undefined, def: number, min: number) => {
      const x = v ?? def;
      if (!Number.isFinite(x) || x < min) throw new Error(`endpoint: option '${name}' expected a number >= ${min}, received ${String(v)}`);
      return x;
    };
    if (typeof cfg.endpoint !== 'string' || !/^https?:\/\//.test(cfg.endpoint))
      throw new Error(`endpoint: option 'endpoint' expected an http(s) URL such as http://127.0.0.1:8000/v1, received ${JSON.stringify(cfg.endpoint)}`);
    if (typeof cfg.model !== 'string' || cfg.model === '') throw new Error(`endpoint: option 'model' expected a model name, received ${JSON.stringify(cfg.model)}`);
    this.cfg = {
      endpoint: cfg.endpoint,
      model: cfg.model,
      concurrency: Math.floor(pos('concurrency', cfg.concurrency, 8, 1)),
      timeoutMs: pos('timeoutMs', cfg.timeoutMs, 120_000, 1),
      retries: Math.floor(pos('retries', cfg.retries, 4, 0)),
      backoffMs: pos('backoffMs', cfg.backoffMs, 500, 0),
      maxBackoffMs: pos('maxBackoffMs', cfg.maxBackoffMs, 20_000, 0),
      random: cfg.random ?? Math.random,
    };
    this.model = cfg.model;
    this.endpoint = cfg.endpoint;
    const apiKey = process.env[cfg.apiKeyEnv ?? 'OPENAI_API_KEY'];
    // The openai client insists on a key; a local server without one gets a placeholder.
    this.client = new OpenAI({ baseURL: cfg.endpoint, apiKey: apiKey && apiKey !== '' ? apiKey : 'no-key', timeout: this.cfg.timeoutMs, maxRetries: 0 });
  }

  /** The wait before retry `n` (1-based): min(max, base * 2^(n-1)), half of it fixed and half jitter. */
  backoff(n: number): number {
    const d = Math.min(this.cfg.maxBackoffMs, this.cfg.backoffMs * 2 ** (n - 1));
    return d / 2 + (this.cfg.random() * d) / 2;
  }

  private async acquire(): Promise<void> {
    if (this.inFlight >= this.cfg.concurrency) await new Promise<void>((r) => this.waiting.push(r));
    this.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.inFlight);
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  /** One chat completion, retried as configured; throws EndpointError when it fails for good. */
  async chat(messages: ChatCompletionMessageParam[], params: ChatParams = {}): Promise<ChatAnswer> {
    for (let tr = 0; ; tr++) {
      if (tr > 0) this.stats.retries++;
      await this.acquire();
      let failure: NonNullable<ReturnType<typeof classify>> & { message: string };
      try {
        this.stats.requests++;
        const res = await this.client.chat.completions.create(
          {
            model: this.cfg.model,
            messages,
            ...(params.temperature !== undefined && { temperature: params.temperature }),
            ...(params.maxTokens !== undefined && { max_tokens: params.maxTokens }),
            ...(params.topLogprobs !== undefined && { logprobs: true, top_logprobs: params.topLogprobs }),
          },
          { timeout: this.cfg.timeoutMs },
        );
        this.stats.ok++;
        const choice = res.choices?.[0];
        const lp = choice?.logprobs?.content;
        return {
          content: choice?.message?.content ?? '',
          ...(lp && { logprobs: lp.map((t) => ({ token: t.token, logprob: t.logprob, top: (t.top_logprobs ?? []).map((a) => ({ token: a.token, logprob: a.logprob })) })) }),
          tries: tr + 1,
        };
      } catch (err) {
        const c = classify(err);
        if (!c) throw err;
        failure = { ...c, message: (err as Error).message };
      } finally {
        this.release();
      }
      this.stats.errors[failure.kind]++;
      const what = failure.status ? `HTTP ${failure.status}` : failure.kind === 'timeout' ? `no answer within ${this.cfg.timeoutMs} ms` : 'connection failed';
      if (!RETRYABLE.has(failure.kind) || tr >= this.cfg.retries)
        throw new EndpointError(
          failure.kind,
          `${this.cfg.endpoint} (model ${this.cfg.model}): ${what} after ${tr + 1} ${tr === 0 ? 'try' : 'tries'}: ${failure.message}`,
          failure.status,
        );
      const wait = Math.max(this.backoff(tr + 1), Math.min(failure.retryAfterMs ?? 0, this.cfg.maxBackoffMs));
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
