// The shared endpoint client against a scripted server on 127.0.0.1: retries with exponential
// backoff on 429 / 5xx / timeouts / refused connections, none on other 4xx, the concurrency limit,
// the per-request timeout, and the API key sent but never in an error message.
import { afterEach, describe, expect, it } from 'vitest';

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
});
