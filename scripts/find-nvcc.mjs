// Finds nvcc: $CUDACXX, $CUDA_HOME/bin, $CUDA_PATH/bin, the usual install prefixes, then PATH. A
// wrapper script on PATH hides the toolkit root from CMake, so a real toolkit directory is preferred
// when there is one. Shared by scripts/build-addon.mjs (the CUDA addon) and
// test/native/cuda-host.test.ts (the host checks of the CUDA kernels), so both find the same compiler.
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';

/** The absolute path of nvcc, or null when none is found. */
export function findNvcc() {
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
