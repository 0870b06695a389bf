#!/usr/bin/env node
// Builds the native addon(s) with cmake-js: the CPU flavour always, the CUDA flavour when nvcc is
// found (METACOT_CUDA=auto|on|off). Run by `npm install` and `npm run build:addon`.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = (process.env.METACOT_CUDA ?? 'auto').toLowerCase();
if (!['auto', 'on', 'off'].includes(mode)) {
  console.error(`metacot: METACOT_CUDA expected auto, on or off, received '${process.env.METACOT_CUDA}'`);
  process.exit(1);
}

// Find nvcc: $CUDACXX, $CUDA_HOME/bin, the usual install prefixes, then PATH. A wrapper script on
// PATH hides the toolkit root from CMake, so prefer a real toolkit directory when there is one.
function findNvcc() {
  const candidates = [];
  if (process.env.CUDACXX) candidates.push(process.env.CUDACXX);
  for (const v of ['CUDA_HOME', 'CUDA_PATH']) if (process.env[v]) candidates.push(join(process.env[v], 'bin', 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  for (const ver of ['13.0', '12.9', '12.8', '12.6', '12.4']) candidates.push(`/usr/local/cuda-${ver}/bin/nvcc`);
  for (const c of candidates) if (existsSync(c)) return realpathSync(c);
  const which = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' });
  const p = which.stdout.trim();
  if (p && existsSync(p)) {
    // follow a one-line `exec /path/nvcc "$@"` wrapper
    const head = spawnSync('sh', ['-c', `head -c 400 '${p}'`], { encoding: 'utf8' }).stdout;
    const m = /exec\s+(\S+\/nvcc)\b/.exec(head);
    return m && existsSync(m[1]) ? m[1] : realpathSync(p);
  }
  return null;
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
