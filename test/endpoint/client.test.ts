// The shared endpoint client against a scripted server on 127.0.0.1: retries with exponential
// backoff on 429 / 5xx / timeouts / refused connections, none on other 4xx, the concurrency limit,
// the per-request timeout, and the API key sent but never in an error message.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { EndpointClient, EndpointError } from '../../src/endpoint/client.js';
import { FakeServer } from '../judge/fake-server.js';

const servers: FakeServer[] = [];
async function serve(reply: ConstructorParameters<typeof FakeServer>[0]): Promise<{ server: FakeServer; url: string }> {
  const server = new FakeServer(reply);
  servers.push(server);
  return { server, url: await server.listen() };
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const hello = [{ role: 'user' as const, content: 'hello' }];

describe('EndpointClient', () => {
  it('backoff(n) = min(max, base 2^(n-1)), half fixed and half jitter', () => {
    const at = (r: number) => new EndpointClient({ endpoint: 'http://127.0.0.1:1/v1', model: 'm', backoffMs: 100, maxBackoffMs: 700, random: () => r });
    expect([1, 2, 3, 4, 5].map((n) => at(0).backoff(n))).toEqual([50, 100, 200, 350, 350]);
    expect([1, 2, 3, 4].map((n) => at(0.5).backoff(n))).toEqual([75, 150, 300, 525]);
    expect(at(0.999).backoff(1)).toBeCloseTo(99.95, 9);
  });

  it('returns the answer and counts one request', async () => {
    const { server, url } = await serve(() => ({ content: 'hi there' }));
    const c = new EndpointClient({ endpoint: url, model: 'm1' });
    const a = await c.chat(hello, { temperature: 0.3, maxTokens: 7 });
    expect(a).toEqual({ content: 'hi there', tries: 1 });
    expect(server.requests[0].body).toMatchObject({ model: 'm1', temperature: 0.3, max_tokens: 7, messages: hello });
    expect(server.requests[0].body.logprobs).toBeUndefined();
    expect(c.stats).toMatchObject({ requests: 1, retries: 0, ok: 1, maxInFlight: 1 });
  });

  it('retries 429 and 500 with exponential backoff, then answers', async () => {
    const script = [{ status: 429 }, { status: 500 }, { status: 503 }, { content: 'finally' }];
    const { server, url } = await serve((_, n) => script[n - 1]);
    const c = new EndpointClient({ endpoint: url, model: 'm', retries: 4, backoffMs: 40, random: () => 0 });
    const a = await c.chat(hello);
    expect(a).toEqual({ content: 'finally', tries: 4 });
    expect(c.stats).toMatchObject({ requests: 4, retries: 3, ok: 1, errors: { 'rate-limit': 1, server: 2 } });
    // waits of 20, 40, 80 ms (random 0: half of 40 * 2^(n-1)); timers may fire a little late, never early
    const gaps = server.requests.slice(1).map((r, i) => r.at - server.requests[i].at);
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
  });

  it('honours Retry-After (capped by maxBackoffMs)', async () => {
    const script = [{ status: 429, headers: { 'retry-after': '0.3' } }, { content: 'ok' }];
    const { server, url } = await serve((_, n) => script[n - 1]);
    const c = new EndpointClient({ endpoint: url, model: 'm', backoffMs: 2, random: () => 0 });
    await c.chat(hello);
    expect(server.requests[1].at - server.requests[0].at).toBeGreaterThanOrEqual(295);
  });

  it('gives up after its retries with an EndpointError that says what happened', async () => {
    const { server, url } = await serve(() => ({ status: 500 }));
    const c = new EndpointClient({ endpoint: url, model: 'mx', retries: 2, backoffMs: 1 });
    const err = await c.chat(hello).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointError);
    expect(err).toMatchObject({ kind: 'server', status: 500 });
    expect((err as Error).message).toMatch(new RegExp(`^${url.replace(/[.]/g, '\\.')} \\(model mx\\): HTTP 500 after 3 tries`));
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry a client error (400, 401, 404)', async () => {
    for (const status of [400, 401, 404]) {
      const { server, url } = await serve(() => ({ status }));
      const c = new EndpointClient({ endpoint: url, model: 'm', retries: 3, backoffMs: 1 });
      const err = await c.chat(hello).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'client', status });
      expect((err as Error).message).toMatch(/after 1 try:/);
      expect(server.requests).toHaveLength(1);
    }
  });

  it('times out a slow answer, retries it, and fails with kind timeout', async () => {
    const { server, url } = await serve(() => ({ content: 'late', delayMs: 1500 }));
    const c = new EndpointClient({ endpoint: url, model: 'm', timeoutMs: 150, retries: 1, backoffMs: 1 });
    const t0 = performance.now();
    const err = await c.chat(hello).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'timeout' });
    expect((err as Error).message).toMatch(/no answer within 150 ms after 2 tries/);
    expect(server.requests).toHaveLength(2);
    expect(c.stats.errors.timeout).toBe(2);
    expect(performance.now() - t0).toBeLessThan(1400);
  });

  it('counts refused connections and retries them', async () => {
    const c = new EndpointClient({ endpoint: 'http://127.0.0.1:9/v1', model: 'm', retries: 2, backoffMs: 1 });
    const err = await c.chat(hello).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'connection' });
    expect(c.stats).toMatchObject({ requests: 3, retries: 2, errors: { connection: 3 } });
  });

  it('never has more than `concurrency` requests in flight, and uses all of them', async () => {
    const { server, url } = await serve(() => ({ content: 'x', delayMs: 25 }));
    const c = new EndpointClient({ endpoint: url, model: 'm', concurrency: 3 });
    await Promise.all(Array.from({ length: 20 }, () => c.chat(hello)));
    expect(server.maxInFlight).toBe(3);
    expect(c.stats.maxInFlight).toBe(3);
    expect(c.stats.ok).toBe(20);
  });

  it('sends the key from the environment variable, and no error message carries it', async () => {
    process.env.METACOT_TEST_KEY = 'sk-test-SECRET-4242';
    try {
      const { server, url } = await serve(() => ({ status: 401 }));
      const c = new EndpointClient({ endpoint: url, model: 'm', apiKeyEnv: 'METACOT_TEST_KEY' });
      const err = (await c.chat(hello).catch((e: unknown) => e)) as Error;
      expect(server.requests[0].headers.authorization).toBe('Bearer sk-test-SECRET-4242');
      expect(`${err.message}\n${err.stack}\n${JSON.stringify(err)}`).not.toContain('SECRET-4242');
      expect(JSON.stringify(c.stats)).not.toContain('SECRET');
    } finally {
      delete process.env.METACOT_TEST_KEY;
    }
  });

  it('refuses bad options, naming the option', () => {
    expect(() => new EndpointClient({ endpoint: 'localhost:8000', model: 'm' })).toThrow(/option 'endpoint' expected an http\(s\) URL .* received "localhost:8000"/);
    expect(() => new EndpointClient({ endpoint: 'http://x/v1', model: '' })).toThrow(/option 'model' expected a model name, received ""/);
    expect(() => new EndpointClient({ endpoint: 'http://x/v1', model: 'm', concurrency: 0 })).toThrow(/option 'concurrency' expected a number >= 1, received 0/);
    expect(() => new EndpointClient({ endpoint: 'http://x/v1', model: 'm', retries: -1 })).toThrow(/option 'retries' expected a number >= 0, received -1/);
    expect(() => new EndpointClient({ endpoint: 'http://x/v1', model: 'm', timeoutMs: Number.NaN })).toThrow(/option 'timeoutMs'/);
  });

  it('an answer without text reads as empty content: null content, no message, no choices', async () => {
    const completion = (choices: unknown) => ({ id: 'x', object: 'chat.completion', created: 0, model: 'm', ...(choices !== undefined && { choices }) });
    const bodies = [
      completion([{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'stop', logprobs: null }]),
      completion([{ index: 0, finish_reason: 'stop' }]),
      completion([]),
      completion(undefined),
    ];
    const { url } = await serve((_, n) => ({ body: bodies[n - 1] }));
    const c = new EndpointClient({ endpoint: url, model: 'm', retries: 0 });
    for (let i = 0; i < bodies.length; i++) expect(await c.chat(hello), `body ${i}`).toEqual({ content: '', tries: 1 });
    expect(c.stats).toMatchObject({ requests: 4, ok: 4 });
  });

  it('returns the log-probabilities asked for, with top [] for a token that has no alternatives', async () => {
    const body = {
      id: 'x', object: 'chat.completion', created: 0, model: 'm',
      choices: [{
        index: 0, message: { role: 'assistant', content: 'yes' }, finish_reason: 'stop',
        logprobs: { content: [
          { token: 'y', logprob: -0.25, bytes: null, top_logprobs: [{ token: 'y', logprob: -0.25, bytes: null }, { token: 'n', logprob: -1.5, bytes: null }] },
          { token: 'es', logprob: -0.5, bytes: null },
        ] },
      }],
    };
    const { server, url } = await serve(() => ({ body }));
    const c = new EndpointClient({ endpoint: url, model: 'm' });
    const a = await c.chat(hello, { topLogprobs: 2 });
    expect(server.requests[0].body).toMatchObject({ logprobs: true, top_logprobs: 2 });
    expect(a).toEqual({
      content: 'yes',
      logprobs: [
        { token: 'y', logprob: -0.25, top: [{ token: 'y', logprob: -0.25 }, { token: 'n', logprob: -1.5 }] },
        { token: 'es', logprob: -0.5, top: [] },
      ],
      tries: 1,
    });
  });

  it('rethrows an error that is not the API\'s unchanged, without retrying or counting it', async () => {
    const c = new EndpointClient({ endpoint: 'http://127.0.0.1:9/v1', model: 'm', retries: 3, backoffMs: 1 });
    const boom = new TypeError('boom');
    const completions = (c as unknown as { client: { chat: { completions: { create: () => Promise<unknown> } } } }).client.chat.completions;
    const create = vi.spyOn(completions, 'create').mockRejectedValue(boom);
    try {
      const err = await c.chat(hello).catch((e: unknown) => e);
      expect(err).toBe(boom);
      expect(err).not.toBeInstanceOf(EndpointError);
      expect(create).toHaveBeenCalledTimes(1);
      expect(c.stats).toEqual({ requests: 1, retries: 0, ok: 0, errors: { timeout: 0, connection: 0, 'rate-limit': 0, server: 0, client: 0 }, maxInFlight: 1 });
    } finally {
      create.mockRestore();
    }
  });

  it('ignores a Retry-After that is not a finite number of seconds (an HTTP date, Infinity): the backoff stands', async () => {
    const script = [
      { status: 429, headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' } },
      { status: 503, headers: { 'retry-after': 'Infinity' } },
      { content: 'ok' },
    ];
    const { server, url } = await serve((_, n) => script[n - 1]);
    const c = new EndpointClient({ endpoint: url, model: 'm', retries: 2, backoffMs: 100, maxBackoffMs: 2500, random: () => 0 });
    expect(await c.chat(hello)).toEqual({ content: 'ok', tries: 3 });
    const gaps = server.requests.slice(1).map((r, i) => r.at - server.requests[i].at);
    // backoff(1) = 50 ms, backoff(2) = 100 ms (random 0); an honoured Infinity would wait maxBackoffMs
    expect(gaps[0]).toBeGreaterThanOrEqual(49);
    expect(gaps[1]).toBeGreaterThanOrEqual(99);
    expect(gaps[1]).toBeLessThan(1000);
  });

  it('defaults the key variable to OPENAI_API_KEY', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-default-var-77';
    try {
      const { server, url } = await serve(() => ({ content: 'x' }));
      await new EndpointClient({ endpoint: url, model: 'm' }).chat(hello);
      expect(server.requests[0].headers.authorization).toBe('Bearer sk-default-var-77');
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  });

  it('refuses an endpoint that is not a string starting with http(s)://, and a missing model', () => {
    expect(() => new EndpointClient({ endpoint: 'see http://x/v1', model: 'm' })).toThrow(/option 'endpoint' expected an http\(s\) URL .* received "see http:\/\/x\/v1"/);
    expect(() => new EndpointClient({ endpoint: new URL('http://x/v1') as unknown as string, model: 'm' })).toThrow(/option 'endpoint' expected an http\(s\) URL/);
    expect(() => new EndpointClient({ endpoint: ['http://x/v1'] as unknown as string, model: 'm' })).toThrow(/option 'endpoint' expected an http\(s\) URL/);
    expect(() => new EndpointClient({ endpoint: 'http://x/v1' } as unknown as ConstructorParameters<typeof EndpointClient>[0])).toThrow(/option 'model' expected a model name, received undefined/);
    expect(() => new EndpointClient({ endpoint: 'http://x/v1', model: 7 as unknown as string })).toThrow(/option 'model' expected a model name, received 7/);
  });
});
