// `metacot check`: the backend parity suite (ggml test-backend-ops style) from the command line: every
// op with a CUDA kernel against the CPU backend on the op-table and tiled cases (src/check/parity.ts).
// On a machine without a usable CUDA device it says why and checks nothing (exit 0); a failure exits 1.
import { writeFileSync, renameSync } from 'node:fs';

import type { Command } from 'commander';

import { checkParity, parityCases } from '../check/parity.js';
import { describeBackend, loadBackend } from '../native/loader.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('check every CUDA kernel against the CPU backend (parity, unwritten outputs, NaN)')
    .option('--op <name>', 'only this op')
    .option('--json <file>', 'also write the results as JSON (atomically)')
    .action((opts: { op?: string; json?: string }) => {
      const b = loadBackend();
      console.log(describeBackend(b));
      if (b.device !== 'cuda') {
        console.log('check: nothing to compare: the CUDA backend is not in use (the reason is above)');
        return;
      }
      const cases = parityCases().filter((c) => !opts.op || c.op === opts.op);
      if (!cases.length) throw new Error(`check: option '--op' expected an op name of the table, received '${opts.op}'`);
      const results = cases.map((c) => {
        const r = checkParity(c.op, c.label, c.build);
        const diffs = r.outputs.map((d) => `out${d.output} rel ${d.relNorm.toExponential(1)}`).join(', ');
        console.log(`${r.status.toUpperCase().padEnd(4)} ${c.op} (${c.label}) ${diffs}${r.reason ? ` -- ${r.reason}` : ''}`);
        return r;
      });
      const fail = results.filter((r) => r.status === 'fail').length;
      const skip = results.filter((r) => r.status === 'skip').length;
      console.log(`check: ${results.length - fail - skip} passed, ${fail} failed, ${skip} skipped (no CUDA kernel)`);
      if (opts.json) {
        writeFileSync(`${opts.json}.tmp`, JSON.stringify({ device: b.info.cuda.device, results }, null, 1));
        renameSync(`${opts.json}.tmp`, opts.json);
      }
      if (fail) process.exitCode = 1;
    });
}
