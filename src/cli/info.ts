// `metacot info`: which backend runs and why, the SIMD path, threads, and every op with its backends.
import type { Command } from 'commander';

import { describeBackend, loadBackend } from '../native/loader.js';
import { liveTensors } from '../native/tensor.js';
import { listOps } from '../ops/registry.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the native backend in use (and why), SIMD level, threads and the op table')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const b = loadBackend();
      const ops = listOps();
      if (opts.json) {
        console.log(JSON.stringify({ device: b.device, addon: b.path, info: b.info, fallbackReasons: b.fallbackReasons, ops, live: liveTensors() }, null, 2));
        return;
      }
      console.log(describeBackend(b));
      console.log(`addon: ${b.path}`);
      console.log(`ops (${ops.length}):`);
      const w = Math.max(...ops.map((o) => o.name.length));
      for (const o of ops) console.log(`  ${o.name.padEnd(w)}  cpu ${o.cpu ? 'yes' : 'no '}  cuda ${o.cuda ? 'yes' : 'no'}`);
    });
}
