// The plain-line progress (output not a TTY): rate and ETA count from the first update, so a resumed
// run (first update at its checkpoint's step) shows this process's rate, not one inflated by the
// steps done before.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { Progress } from '../../src/util/progress.js';

function stream() {
  const lines: string[] = [];
  return { lines, s: { isTTY: false, write: (t: string) => (lines.push(t), true) } as unknown as NodeJS.WriteStream };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Progress (plain lines)', () => {
  it('a resumed run: rate and ETA from the steps done since the first update', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const { lines, s } = stream();
    const p = new Progress({ label: 'sft', total: 1000, stream: s, plainEveryMs: 0 });
    vi.setSystemTime(5_000);
    p.update(900);
    vi.setSystemTime(15_000);
    p.update(920, { loss: 1.5 });
    // 20 steps in 10 s: 2/s; 80 steps left: 40 s
    expect(lines.at(-1)).toBe('sft 920/1000 | 2.00/s | ETA 40s | loss 1.5\n');
    expect(lines[0]).toBe('sft 900/1000 |  | ETA 0s\n');
  });

  it('a fresh run: updates from 0', () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const { lines, s } = stream();
    const p = new Progress({ label: 'x', total: 10, stream: s, plainEveryMs: 1000 });
    p.update(0);
    vi.setSystemTime(500);
    p.update(1);
    expect(lines).toHaveLength(0);
    vi.setSystemTime(2_000);
    p.update(4);
    expect(lines.at(-1)).toBe('x 4/10 | 2.00/s | ETA 3s\n');
    p.update(10);
    expect(lines.at(-1)).toMatch(/^x 10\/10 \| 5\.00\/s \| ETA 0s\n$/);
    const q = new Progress({ label: 'q', total: 1, stream: s, quiet: true });
    q.update(1);
    expect(lines).toHaveLength(2);
  });
});
