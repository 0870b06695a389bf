// The MFU denominator (src/train/peak.ts): a stated figure, a GPU's spec sheet, or the best CPU GEMM
// this machine has reached, with its source.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { cachedCpuPeak, cudaSpecPeak, defaultPeakCache, resolvePeak } from '../../src/train/peak.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-peak-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = process.env.METACOT_PEAK_GFLOPS;
afterEach(() => {
  if (saved === undefined) delete process.env.METACOT_PEAK_GFLOPS;
  else process.env.METACOT_PEAK_GFLOPS = saved;
});

describe('MFU peak', () => {
  it('a GPU: the dense bf16 spec figure of its card, by name', () => {
    expect(cudaSpecPeak('NVIDIA H200')).toEqual({ flops: 989e12, source: 'the H200 spec sheet (dense bf16)' });
    expect(cudaSpecPeak('NVIDIA H100 PCIe')?.flops).toBe(756e12);
    expect(cudaSpecPeak('NVIDIA H100 80GB HBM3')?.flops).toBe(989e12);
    expect(cudaSpecPeak('NVIDIA A100-SXM4-80GB')?.flops).toBe(312e12);
    expect(cudaSpecPeak('NVIDIA L40S')?.flops).toBe(362e12);
    expect(cudaSpecPeak('NVIDIA L4')?.flops).toBe(121e12);
    expect(cudaSpecPeak('Tesla T4')).toBeNull();
  });

  it('a stated figure wins; a bad one is refused', async () => {
    let measured = 0;
    const measure = async () => (measured++, 5e10);
    expect(await resolvePeak('cpu', { stated: 200, measure })).toEqual({ flops: 2e11, source: 'stated' });
    process.env.METACOT_PEAK_GFLOPS = '150';
    expect(await resolvePeak('cuda', { deviceName: 'NVIDIA H200', measure })).toEqual({ flops: 1.5e11, source: 'METACOT_PEAK_GFLOPS' });
    expect(measured).toBe(0);
    process.env.METACOT_PEAK_GFLOPS = 'fast';
    await expect(resolvePeak('cpu', { measure })).rejects.toThrow("METACOT_PEAK_GFLOPS: expected a positive number of GFLOP/s, received 'fast'");
    process.env.METACOT_PEAK_GFLOPS = '';
    const p = await resolvePeak('cuda', { deviceName: 'Tesla T4', measure });
    expect(p).toEqual({ flops: 5e10, source: "our GEMM at 4096^3 (no spec figure for 'Tesla T4'; set METACOT_PEAK_GFLOPS)" });
    expect(measured).toBe(1);
    expect((await resolvePeak('cuda', { deviceName: 'NVIDIA H200', measure })).flops).toBe(989e12);
    expect(measured).toBe(1);
  });

  it('the CPU: the best figure this machine has reached, raised by a better run, kept across runs', async () => {
    delete process.env.METACOT_PEAK_GFLOPS;
    const file = join(dir, 'peak.json');
    expect(cachedCpuPeak(1e11, 2, file)).toEqual({ flops: 1e11, source: `the GEMM measured now (the best so far; ${file})` });
    // a busy run measures less: the cached best stands
    expect(cachedCpuPeak(8e10, 2, file)).toEqual({ flops: 1e11, source: `the best GEMM this machine has reached (80 GFLOP/s now; ${file})` });
    expect(cachedCpuPeak(1.2e11, 2, file).flops).toBe(1.2e11);
    expect(cachedCpuPeak(9e10, 2, file).flops).toBe(1.2e11);
    // another thread count is another entry
    expect(cachedCpuPeak(5e10, 1, file).flops).toBe(5e10);
    const table = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
    expect(Object.values(table).sort()).toEqual([1.2e11, 5e10].sort());
    expect(Object.keys(table).every((k) => / x[12] threads$/.test(k))).toBe(true);
    // an unreadable cache is started again
    writeFileSync(file, 'not json');
    expect(cachedCpuPeak(7e10, 2, file).flops).toBe(7e10);
    // through resolvePeak, measuring once
    let n = 0;
    const p = await resolvePeak('cpu', { threads: 2, cacheFile: file, measure: async () => (n++, 6e10) });
    expect(p.flops).toBe(7e10);
    expect(n).toBe(1);
  });
});

describe('MFU peak: the cache file and the stated figure', () => {
  it('the cache file: METACOT_PEAK_CACHE when set (and not empty), else ~/.cache/metacot/peak.json', () => {
    const before = process.env.METACOT_PEAK_CACHE;
    try {
      process.env.METACOT_PEAK_CACHE = join(dir, 'elsewhere.json');
      expect(defaultPeakCache()).toBe(join(dir, 'elsewhere.json'));
      process.env.METACOT_PEAK_CACHE = '';
      expect(defaultPeakCache()).toBe(join(homedir(), '.cache', 'metacot', 'peak.json'));
      delete process.env.METACOT_PEAK_CACHE;
      expect(defaultPeakCache()).toBe(join(homedir(), '.cache', 'metacot', 'peak.json'));
      // cachedCpuPeak's default file is that one
      process.env.METACOT_PEAK_CACHE = join(dir, 'by-env.json');
      expect(cachedCpuPeak(4e10, 3).source).toBe(`the GEMM measured now (the best so far; ${join(dir, 'by-env.json')})`);
      expect(Object.values(JSON.parse(readFileSync(join(dir, 'by-env.json'), 'utf8')) as Record<string, number>)).toEqual([4e10]);
    } finally {
      if (before === undefined) delete process.env.METACOT_PEAK_CACHE;
      else process.env.METACOT_PEAK_CACHE = before;
    }
  });

  it('the cache is keyed by the CPU model and the thread count', () => {
    const file = join(dir, 'keyed.json');
    cachedCpuPeak(3e10, 3, file);
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>)).toEqual([`${cpus()[0]?.model ?? 'cpu'} x3 threads`]);
  });

  it('a cache that is JSON but not an object is started again, keeping nothing of it', () => {
    const file = join(dir, 'odd.json');
    for (const text of ['null', '"abc"', '7']) {
      writeFileSync(file, text);
      expect(cachedCpuPeak(2e10, 2, file).flops).toBe(2e10);
      const table = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
      expect(Object.values(table), text).toEqual([2e10]);
      expect(Object.keys(table), text).toEqual([`${cpus()[0]?.model ?? 'cpu'} x2 threads`]);
    }
  });

  it('the cache file is rewritten only when the best rises (an equal or lower figure leaves it as it is)', () => {
    const file = join(dir, 'keep.json');
    const key = `${cpus()[0]?.model ?? 'cpu'} x2 threads`;
    const text = JSON.stringify({ [key]: 1e11, other: 5 });
    writeFileSync(file, text);
    expect(cachedCpuPeak(1e11, 2, file).flops).toBe(1e11);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(cachedCpuPeak(6e10, 2, file).flops).toBe(1e11);
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(cachedCpuPeak(1.5e11, 2, file).flops).toBe(1.5e11);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ [key]: 1.5e11, other: 5 });
  });

  it('a stated figure must be finite and > 0', async () => {
    delete process.env.METACOT_PEAK_GFLOPS;
    const measure = async () => 5e10;
    for (const stated of [0, -3, Number.POSITIVE_INFINITY, Number.NaN])
      await expect(resolvePeak('cpu', { stated, measure }), String(stated)).rejects.toThrow(`METACOT_PEAK_GFLOPS: expected a positive number of GFLOP/s, received '${stated}'`);
    for (const env of ['0', 'Infinity', '-1']) {
      process.env.METACOT_PEAK_GFLOPS = env;
      await expect(resolvePeak('cuda', { deviceName: 'NVIDIA H200', measure }), env).rejects.toThrow(`METACOT_PEAK_GFLOPS: expected a positive number of GFLOP/s, received '${env}'`);
    }
    expect(await resolvePeak('cpu', { stated: 1e-3, measure })).toEqual({ flops: 1e6, source: 'stated' });
  });
});
