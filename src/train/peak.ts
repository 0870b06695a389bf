// The MFU denominator: a stated peak, printed with where it comes from, never whatever one GEMM
// reached while the machine was busy.
//   - METACOT_PEAK_GFLOPS (or the caller's `stated`): the figure given.
//   - a GPU: the card's dense bf16 tensor-core peak from its spec sheet (our GEMM runs in bf16 with
//     fp32 accumulation), looked up by the device name.
//   - the CPU: the best GEMM throughput this machine has reached, kept in a small cache file keyed by
//     the CPU model and thread count; each run measures again and raises it, so the figure is the one
//     a quiet moment gave (on a busy machine the cached best stands in for the run's own measurement).
//     METACOT_PEAK_CACHE names another cache file.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, homedir } from 'node:os';
import { dirname, join } from 'node:path';

import type { Device } from '../native/binding.js';

export interface PeakFlops {
  flops: number;
  /** where the figure comes from, for the log line beside the MFU */
  source: string;
}

/** Dense bf16 tensor-core TFLOP/s by device name (NVIDIA spec sheets; first match wins). */
export const CUDA_PEAK_TFLOPS: readonly (readonly [RegExp, number, string])[] = [
  [/H200/i, 989, 'H200'],
  [/H100.*PCIe/i, 756, 'H100 PCIe'],
  [/H100|H800|GH200/i, 989, 'H100 SXM'],
  [/A100|A800/i, 312, 'A100'],
  [/L40S/i, 362, 'L40S'],
  [/L40\b/i, 181, 'L40'],
  [/RTX 6000 Ada/i, 364, 'RTX 6000 Ada'],
  [/RTX 4090/i, 165, 'RTX 4090'],
  [/L4\b/i, 121, 'L4'],
  [/A10G?\b/i, 125, 'A10'],
];

export function cudaSpecPeak(deviceName: string): PeakFlops | null {
  for (const [re, tflops, label] of CUDA_PEAK_TFLOPS) if (re.test(deviceName)) return { flops: tflops * 1e12, source: `the ${label} spec sheet (dense bf16)` };
  return null;
}

/** METACOT_PEAK_CACHE, or ~/.cache/metacot/peak.json */
export const defaultPeakCache = (): string => process.env.METACOT_PEAK_CACHE || join(homedir(), '.cache', 'metacot', 'peak.json');

function cpuKey(threads: number): string {
  return `${cpus()[0]?.model ?? 'cpu'} x${threads} threads`;
}

/** The best CPU GEMM figure recorded for this machine, raised to `measured` when that is higher. */
export function cachedCpuPeak(measured: number, threads: number, file = defaultPeakCache()): PeakFlops {
  const key = cpuKey(threads);
  let table: Record<string, number> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed && typeof parsed === 'object') table = parsed as Record<string, number>;
  } catch {
    // no cache yet, or an unreadable one: start a new one
  }
  const best = Math.max(Number.isFinite(table[key]) ? table[key] : 0, measured);
  if (best > (table[key] ?? 0)) {
    try {
      mkdirSync(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify({ ...table, [key]: best }, null, 1)}\n`);
      renameSync(tmp, file);
    } catch {
      // a read-only home: the figure still serves this run
    }
  }
  const now = `${(measured / 1e9).toFixed(0)} GFLOP/s now`;
  return { flops: best, source: best > measured ? `the best GEMM this machine has reached (${now}; ${file})` : `the GEMM measured now (the best so far; ${file})` };
}

/** The peak for MFU on `device`; `measure` times our GEMM (only called where a measurement is needed). */
export async function resolvePeak(
  device: Device,
  opts: { stated?: number; deviceName?: string; threads?: number; cacheFile?: string; measure: () => Promise<number> },
): Promise<PeakFlops> {
  const env = process.env.METACOT_PEAK_GFLOPS;
  const stated = opts.stated ?? (env !== undefined && env !== '' ? Number(env) : undefined);
  if (stated !== undefined) {
    if (!(Number.isFinite(stated) && stated > 0)) throw new RangeError(`METACOT_PEAK_GFLOPS: expected a positive number of GFLOP/s, received '${env ?? stated}'`);
    return { flops: stated * 1e9, source: opts.stated !== undefined ? 'stated' : 'METACOT_PEAK_GFLOPS' };
  }
  if (device === 'cuda') {
    const spec = cudaSpecPeak(opts.deviceName ?? '');
    if (spec) return spec;
    return { flops: await opts.measure(), source: `our GEMM at 4096^3 (no spec figure for '${opts.deviceName}'; set METACOT_PEAK_GFLOPS)` };
  }
  return cachedCpuPeak(await opts.measure(), opts.threads ?? 1, opts.cacheFile);
}
