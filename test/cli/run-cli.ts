// Runs `metacot <argv...>` in-process with the console captured: what it printed (stdout and stderr
// joined) and the exit code it set.
import { vi } from 'vitest';

import { main } from '../../src/cli/main.js';

export async function runCli(...argv: string[]): Promise<{ out: string; code: number | undefined }> {
  const out: string[] = [];
  const spies = [
    vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' '))),
    vi.spyOn(console, 'error').mockImplementation((...a) => void out.push(a.join(' '))),
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (out.push(String(s)), true)),
  ];
  const before = process.exitCode;
  process.exitCode = undefined;
  try {
    await main(['node', 'metacot', ...argv]);
    return { out: out.join('\n'), code: process.exitCode as number | undefined };
  } finally {
    process.exitCode = before;
    for (const s of spies) s.mockRestore();
  }
}
