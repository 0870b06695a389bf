import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { describeBackend, loadBackend, packageRoot } from '../../src/native/loader.js';
import { Tensor, liveTensors } from '../../src/native/tensor.js';
import { add, fill } from '../../src/ops/elementwise.js';
import { listOps, opIndex } from '../../src/ops/registry.js';
import { Scope } from '../helpers.js';

const scope = new Scope();
afterEach(() => scope.dispose());

describe('Tensor', () => {
  it('round-trips every dtype and reports shape, dtype, device, bytes', () => {
    const cases = [
      [new Float32Array([1.5, -2, 3, 4, 5, 6]), 'f32', 24],
      [new Int32Array([1, -2, 3, 2147483647, -2147483648, 0]), 'i32', 24],
      [new Uint16Array([1, 2, 3, 65535, 0, 7]), 'bf16', 12],
      [new Uint8Array([1, 2, 3, 255, 0, 9]), 'u8', 6],
    ] as const;
    for (const [data, dtype, bytes] of cases) {
      const t = scope.track(Tensor.from(data, [2, 3]));
      expect(t.shape).toEqual([2, 3]);
      expect(t.dtype).toBe(dtype);
      expect(t.device).toBe(loadBackend().device);
      expect(t.nbytes).toBe(bytes);
      expect(Array.from(t.download() as ArrayLike<number>)).toEqual(Array.from(data));
      expect(t.handle.nbytes).toBe(bytes);
    }
    const z = scope.track(Tensor.zeros([0, 5]));
    expect(z.numel).toBe(0);
    expect(z.download().length).toBe(0);
  });

  it('counts live tensors and bytes; dispose() and Symbol.dispose free them; double dispose is harmless', () => {
    const before = liveTensors().cpu;
    const a = Tensor.zeros([1000]);
    const b = Tensor.zeros([10, 10], { dtype: 'i32' });
    expect(liveTensors().cpu.tensors).toBe(before.tensors + 2);
    expect(liveTensors().cpu.bytes).toBe(before.bytes + 4000 + 400);
    a.dispose();
    a.dispose();
    b[Symbol.dispose]();
    expect(a.disposed).toBe(true);
    expect(liveTensors().cpu).toEqual(before);
  });

  it('reshape shares the buffer and ops see the new shape', () => {
    const t = scope.track(Tensor.from(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]));
    const r = t.reshape([3, 2]);
    expect(r.shape).toEqual([3, 2]);
    add(r, r, r);
    expect(Array.from(t.toFloat32Array())).toEqual([2, 4, 6, 8, 10, 12]);
    expect(() => t.reshape([4, 2])).toThrow("Tensor.reshape: argument 'shape' expected 6 elements like [2, 3], received [4, 2] (8)");
  });

  it('the GC finalizer frees tensors nobody disposed (safety net)', () => {
    // A child process with --expose-gc drives the addon directly: 200 x 1 MiB tensors dropped
    // without dispose() must be freed by the finalizer once collected.
    const addon = join(loadBackend().path);
    const script = `
      const b = require(${JSON.stringify(addon)});
      for (let i = 0; i < 200; i++) { const t = new b.Tensor([262144], 0, 0); }
      const held = b.stats().cpu.tensors;
      (async () => {
        for (let i = 0; i < 20 && b.stats().cpu.tensors > 0; i++) { global.gc(); await new Promise(r => setTimeout(r, 10)); }
        console.log(JSON.stringify({ held, after: b.stats().cpu.tensors, bytes: b.stats().cpu.bytes }));
      })();`;
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim()) as { held: number; after: number; bytes: number };
    expect(out.held).toBeGreaterThan(0);
    expect(out.after).toBe(0);
    expect(out.bytes).toBe(0);
  });

  it('the loader says which backend runs and why', () => {
    const b = loadBackend();
    expect(['cpu', 'cuda']).toContain(b.device);
    const line = describeBackend();
    expect(line).toMatch(/^metacot backend: (cpu|cuda)/);
    if (b.device === 'cpu') expect(b.fallbackReasons.length).toBeGreaterThan(0);
    expect(listOps().map((o) => o.name)).toContain('add');
    expect(listOps().every((o) => o.cpu)).toBe(true);
  });
});

describe('bad input gives a coded Error, never a crash', () => {
  it('Tensor arguments', () => {
    expect(() => Tensor.zeros([2, -1])).toThrow("Tensor.zeros: argument 'shape' expected an array of non-negative integers, received [2, -1]");
    expect(() => Tensor.zeros([2.5])).toThrow(/argument 'shape'/);
    expect(() => Tensor.zeros([1, 2, 3, 4, 5, 6, 7])).toThrow("argument 'shape' expected at most 6 dimensions, received 7");
    expect(() => Tensor.zeros([2], { dtype: 'f64' as never })).toThrow("Tensor.zeros: argument 'dtype' expected 'f32' | 'i32' | 'bf16' | 'u8', received 'f64'");
    expect(() => Tensor.from(new Float32Array(5), [2, 3])).toThrow("Tensor.from: argument 'data' expected 6 elements for shape [2, 3], received 5");
    expect(() => Tensor.from(new Float64Array(6) as never, [6])).toThrow(/argument 'data' expected a Float32Array/);
    const t = scope.track(Tensor.zeros([4]));
    expect(() => t.upload(new Int32Array(4) as never)).toThrow("Tensor.upload: argument 'data' expected a Float32Array for dtype f32, received Int32Array(4)");
    expect(() => t.upload(new Float32Array(3))).toThrow("Tensor.upload: argument 'data' expected 4 elements for shape [4], received 3");
  });

  it('sizes that do not fit in memory', () => {
    let err: unknown;
    try {
      Tensor.zeros([1 << 20, 1 << 20]);
    } catch (e) {
      err = e;
    }
    expect((err as { code: string }).code).toBe('E_OOM');
    expect((err as Error).message).toMatch(/Tensor\.zeros: shape \[1048576, 1048576\] \(f32\) needs 4096\.00 GiB/);
    // the native allocator refuses too, with a code, when called directly
    const b = loadBackend().binding;
    expect(() => new b.Tensor([1 << 25, 1 << 25], 0, 0)).toThrow(expect.objectContaining({ code: 'E_OOM' }));
  });

  it('disposed tensors', () => {
    const t = Tensor.zeros([3]);
    t.dispose();
    expect(() => t.download()).toThrow(expect.objectContaining({ code: 'E_DISPOSED' }));
    expect(() => fill(t, 1)).toThrow("fill: argument 'x' was disposed");
    // and natively, when TypeScript is bypassed
    const b = loadBackend().binding;
    expect(() => b.runOp(opIndex('fill'), [t.handle], [], [1])).toThrow(
      expect.objectContaining({ code: 'E_DISPOSED', message: 'fill: tensor argument 0 was disposed' }),
    );
  });

  it('native checks catch what bypasses TypeScript: counts, shapes, dtypes', () => {
    const b = loadBackend().binding;
    const x = scope.track(Tensor.zeros([4, 3]));
    const y = scope.track(Tensor.zeros([5]));
    const i = scope.track(Tensor.zeros([12], { dtype: 'i32' }));
    const err = (f: () => void) => {
      try {
        f();
      } catch (e) {
        return e as Error & { code: string };
      }
      throw new Error('expected a throw');
    };
    let e = err(() => b.runOp(opIndex('add'), [x.handle, x.handle], [], [1, 1]));
    expect(e.code).toBe('E_ARG');
    e = err(() => b.runOp(opIndex('add'), [x.handle, y.handle, x.handle], [], [1, 1]));
    expect(e.code).toBe('E_SHAPE');
    expect(e.message).toBe("add: argument 'b' expected 12 elements, received shape [5]");
    e = err(() => b.runOp(opIndex('add'), [x.handle, i.handle, x.handle], [], [1, 1]));
    expect(e.code).toBe('E_DTYPE');
    e = err(() => b.runOp(99999, [], [], []));
    expect(e.message).toMatch(/unknown op index/);
    e = err(() => b.runOp(opIndex('add'), [x.handle, {} as never, x.handle], [], [1, 1]));
    expect(e.message).toBe('add: tensor argument 1 is not a tensor');
  });

  it('asks for CUDA tensors only where CUDA is usable', () => {
    if (loadBackend().device === 'cuda') return;
    expect(() => Tensor.zeros([2], { device: 'cuda' })).toThrow(/Tensor\.zeros: argument 'device' expected 'cpu' \(CUDA is not usable here\)/);
  });
});

describe('async ops', () => {
  it('run off the event loop: a timer keeps firing while they run', async () => {
    const n = 1 << 24;
    const a = scope.track(Tensor.zeros([n]));
    const b = scope.track(Tensor.zeros([n]));
    fill(a, 1);
    fill(b, 2);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const t0 = performance.now();
    for (let k = 0; k < 20; k++) await add.async(a, b, a);
    const ms = performance.now() - t0;
    clearInterval(timer);
    expect(a.toFloat32Array()[n - 1]).toBe(41);
    // a blocked loop would give ~0 ticks; allow for slow machines
    expect(ticks).toBeGreaterThan(Math.min(5, ms / 20));
  });

  it('an async error carries a code and the caller stack', async () => {
    const x = scope.track(Tensor.zeros([4]));
    const t = Tensor.zeros([4]);
    t.dispose();
    await expect(add.async(x, t, x)).rejects.toThrow("add: argument 'b' was disposed");
    const b = loadBackend().binding;
    const y = scope.track(Tensor.zeros([5]));
    const { runCallAsync } = await import('../../src/ops/registry.js');
    const e = (await runCallAsync('add', { tensors: [x, y, x], floats: [1, 1] }).then(
      () => new Error('expected a rejection'),
      (err: unknown) => err,
    )) as Error & { code: string };
    expect(e.code).toBe('E_SHAPE');
    expect(e.stack).toContain('tensor.test.ts');
    void b;
  });

  it('dispose() during an async op defers the free until the op finishes', async () => {
    const before = liveTensors().cpu.tensors;
    const a = Tensor.zeros([1 << 22]);
    const b = Tensor.zeros([1 << 22]);
    fill(b, 3);
    const p = add.async(a, b, a);
    a.dispose();
    b.dispose();
    expect(a.disposed).toBe(true);
    await p;
    expect(liveTensors().cpu.tensors).toBe(before);
  });
});

describe('build', () => {
  it('the loader takes the addon from build/Release, or from METACOT_ADDON_DIR when set', () => {
    const dir = process.env.METACOT_ADDON_DIR ? resolve(process.env.METACOT_ADDON_DIR) : join(packageRoot, 'build', 'Release');
    expect(dirname(loadBackend().path)).toBe(dir);
  });
});
