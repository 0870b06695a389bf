// Loads the native addon: the CUDA flavour when it loads and a device is usable, else the CPU one,
// and records why (node-llama-cpp style). METACOT_DEVICE=cpu|cuda|auto forces the choice;
// METACOT_ADDON_DIR points at another build directory.
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Device, NativeBinding, NativeInfo } from './binding.js';

export interface LoadedBackend {
  binding: NativeBinding;
  /** the device new tensors go to by default */
  device: Device;
  /** which addon file was loaded */
  path: string;
  info: NativeInfo;
  /** why each better option was not taken (empty when CUDA was chosen) */
  fallbackReasons: string[];
  /** ops with a CUDA kernel in the CUDA addon, when it was built (even if no device is usable here) */
  cudaOps: string[] | null;
}

/**
 * Loads an addon with every symbol bound at load time (RTLD_NOW): a stale or mismatched build then
 * fails here with a catchable error instead of killing the process at the first call of a missing
 * function (Node's default lazy binding), so the loader can fall back and say why.
 */
function loadAddon(path: string): NativeBinding {
  const mod = { exports: {} as NativeBinding };
  process.dlopen(mod, path, constants.dlopen.RTLD_NOW);
  return mod.exports;
}
const here = dirname(fileURLToPath(import.meta.url));
// src/native/ and dist/native/ are both two levels below the package root
export const packageRoot = join(here, '..', '..');

function addonDir(): string {
  return process.env.METACOT_ADDON_DIR ? resolve(process.env.METACOT_ADDON_DIR) : join(packageRoot, 'build', 'Release');
}

let loaded: LoadedBackend | null = null;

export function loadBackend(): LoadedBackend {
  if (loaded) return loaded;
  const want = (process.env.METACOT_DEVICE ?? 'auto').toLowerCase();
  if (!['auto', 'cpu', 'cuda'].includes(want))
    throw new Error(`metacot: METACOT_DEVICE expected auto, cpu or cuda, received '${process.env.METACOT_DEVICE}'`);
  const dir = addonDir();
  const reasons: string[] = [];
  let cudaOps: string[] | null = null;
  if (want !== 'cpu') {
    const cudaPath = join(dir, 'metacot_cuda.node');
    if (!existsSync(cudaPath)) {
      reasons.push(`CUDA addon not built (${cudaPath} missing: nvcc was not found at install, or METACOT_CUDA=off)`);
    } else {
      try {
        const b = loadAddon(cudaPath);
        const info = b.info();
        cudaOps = b.ops().filter((o) => o.cuda).map((o) => o.name);
        if (info.cuda.usable) {
          loaded = { binding: b, device: 'cuda', path: cudaPath, info, fallbackReasons: reasons, cudaOps };
          return loaded;
        }
        reasons.push(`CUDA addon loaded but ${info.cuda.reason}`);
      } catch (e) {
        reasons.push(`CUDA addon failed to load: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    if (want === 'cuda') throw new Error(`metacot: METACOT_DEVICE=cuda but CUDA is not usable: ${reasons.join('; ')}`);
  } else {
    reasons.push('METACOT_DEVICE=cpu');
  }
  const cpuPath = join(dir, 'metacot_cpu.node');
  if (!existsSync(cpuPath))
    throw new Error(
      `metacot: the native addon is not built (${cpuPath} missing). Run \`npm install\` or \`npm run build:addon\` in ${packageRoot}.`,
    );
  const b = loadAddon(cpuPath);
  loaded = { binding: b, device: 'cpu', path: cpuPath, info: b.info(), fallbackReasons: reasons, cudaOps };
  return loaded;
}

/** The CUDA addon, if it is built and a device is usable, beside the default backend (for parity tests). */
export function loadCudaBinding(): { binding: NativeBinding | null; reason: string } {
  const backend = loadBackend();
  if (backend.device === 'cuda') return { binding: backend.binding, reason: '' };
  return { binding: null, reason: backend.fallbackReasons.join('; ') || 'CUDA not selected' };
}

/** One line saying which backend runs and why. */
export function describeBackend(b: LoadedBackend = loadBackend()): string {
  const i = b.info;
  const head =
    b.device === 'cuda'
      ? `metacot backend: cuda (${i.cuda.device}), host ${i.simd} x${i.threads} threads`
      : `metacot backend: cpu (${i.simd}, ${i.threads} threads)`;
  return b.fallbackReasons.length && b.device !== 'cuda' ? `${head}; not cuda: ${b.fallbackReasons.join('; ')}` : head;
}
