// The CUDA backend's error paths and memory: a failing CUDA call comes back as a coded JS error and
// the process (and the device) stay usable. Runs only where a CUDA device is usable; skipped, with the
// reason in its name, elsewhere.
import { describe, expect, it } from 'vitest';

import { loadBackend } from '../../src/native/loader.js';
import { Tensor, liveTensors } from '../../src/native/tensor.js';
import { opIndex, runCall, runCallAsync } from '../../src/ops/registry.js';

const backend = loadBackend();
const onCuda = backend.device === 'cuda';

function thrown(f: () => void): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe.skipIf(!onCuda)(`CUDA backend${onCuda ? ` on ${backend.info.cuda.device}` : ` (skipped: ${backend.fallbackReasons.join('; ')})`}`, () => {
  it('round-trips data through device memory and counts it', () => {
    const before = liveTensors().cuda.tensors;
    const data = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    const t = Tensor.from(data, [10, 100], { device: 'cuda' });
    expect(liveTensors().cuda.tensors).toBe(before + 1);
    expect(Array.from(t.download() as Float32Array)).toEqual(Array.from(data));
    t.dispose();
    expect(liveTensors().cuda.tensors).toBe(before);
  });

  it('device memory exhaustion is E_OOM, and the device works afterwards', () => {
    // 2^26 x 2^14 floats = 4 TiB: more than any card; the native allocator is asked directly
    const b = backend.binding;
    const e = thrown(() => new b.Tensor([1 << 26, 1 << 14], 0, 1));
    expect(e.code).toBe('E_OOM');
    expect(e.message).toMatch(/cudaMalloc/);
    using x = Tensor.zeros([64], { device: 'cuda' });
    runCall('fill', { tensors: [x], floats: [3] });
    expect((x.download() as Float32Array)[63]).toBe(3);
  });

  it('mixing devices in one op is E_DEVICE naming the argument', () => {
    using a = Tensor.zeros([8], { device: 'cuda' });
    using c = Tensor.zeros([8]);
    const e = thrown(() => backend.binding.runOp(opIndex('add'), [a.handle, c.handle, a.handle], [], [1, 1], [[8], [8], [8]]));
    expect(e.code).toBe('E_DEVICE');
    expect(e.message).toMatch(/add: tensor argument 1 is on cpu, expected cuda/);
  });

  it('runs async ops on the device, off the event loop', async () => {
    using a = Tensor.from(new Float32Array(1 << 20).fill(1), [1 << 20], { device: 'cuda' });
    using b = Tensor.from(new Float32Array(1 << 20).fill(2), [1 << 20], { device: 'cuda' });
    await runCallAsync('add', { tensors: [a, b, a], floats: [1, 1] });
    expect((a.download() as Float32Array)[12345]).toBe(3);
  });
});
