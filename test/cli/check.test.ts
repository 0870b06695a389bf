import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it, vi } from 'vitest';

import { main } from '../../src/cli/main.js';
import { loadBackend } from '../../src/native/loader.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('metacot check', () => {
  it('compares every CUDA op with the CPU where a GPU is usable, and says why not elsewhere', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    const json = join(dir, 'check.json');
    try {
      process.exitCode = undefined;
      await main(['node', 'metacot', 'check', '--json', json]);
    } finally {
      log.mockRestore();
    }
    if (loadBackend().device === 'cuda') {
      expect(process.exitCode ?? 0, lines.join('\n')).toBe(0);
      const r = JSON.parse(readFileSync(json, 'utf8')) as { results: { status: string }[] };
      expect(r.results.filter((x) => x.status === 'fail')).toEqual([]);
    } else {
      expect(lines.join('\n')).toMatch(/nothing to compare: the CUDA backend is not in use/);
      expect(existsSync(json)).toBe(false);
    }
  });

  // the filter applies only where something is compared
  it.skipIf(loadBackend().device !== 'cuda')('names the option when --op is not an op of the table', async () => {
    await expect(main(['node', 'metacot', 'check', '--op', 'nope'])).rejects.toThrow(/'--op' expected an op name.*'nope'/);
  });
});
