#!/usr/bin/env node
// Builds the native addon(s) with cmake-js: the CPU flavour always, the CUDA flavour when nvcc is
// found (METACOT_CUDA=auto|on|off). Run by `npm install` and `npm run build:addon`.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { findNvcc } from './find-nvcc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = (process.env.METACOT_CUDA ?? 'auto').toLowerCase();
if (!['auto', 'on', 'off'].includes(mode)) {
  console.error(`metacot: METACOT_CUDA expected auto, on or off, received '${process.env.METACOT_CUDA}'`);
  process.exit(1);
}

const args = ['cmake-js', 'compile', '--out', 'build', '--parallel', String(Math.max(1, availableParallelism()))];
args.push(`--CDMETACOT_CUDA=${mode}`);
if (mode !== 'off') {
  const nvcc = findNvcc();
  if (nvcc) args.push(`--CDCMAKE_CUDA_COMPILER=${nvcc}`);
  else if (mode === 'on') {
    console.error('metacot: METACOT_CUDA=on but nvcc was not found (set CUDACXX or CUDA_HOME)');
    process.exit(1);
  }
}
console.log(`metacot: building the addon (METACOT_CUDA=${mode})`);
const r = spawnSync('npx', args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
