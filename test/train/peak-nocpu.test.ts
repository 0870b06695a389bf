// peak.ts on a platform where os.cpus() lists nothing (some containers, Android): the cache key falls
// back to 'cpu' instead of failing on cpus()[0].model.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

vi.mock('node:os', async (importOriginal) => ({ ...(await importOriginal<typeof import('node:os')>()), cpus: () => [] }));

const { cachedCpuPeak } = await import('../../src/train/peak.js');
const dir = mkdtempSync(join(tmpdir(), 'metacot-peak-nocpu-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cachedCpuPeak without a CPU list', () => {
  it("keys the cache by 'cpu' and the thread count", () => {
    const file = join(dir, 'peak.json');
    expect(cachedCpuPeak(5e9, 2, file).flops).toBe(5e9);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ 'cpu x2 threads': 5e9 });
  });
});
