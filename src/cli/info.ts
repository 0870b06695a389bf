// `metacot info`: which backend runs and why, the SIMD path, threads, and every op with its backends.
import type { Command } from 'commander';

import { PRESETS, paramCount, preset } from '../model/config.js';
import { modelLayout } from '../model/model.js';
import { describeBackend, loadBackend } from '../native/loader.js';
import { liveTensors } from '../native/tensor.js';
import { listOps } from '../ops/registry.js';

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show the native backend in use (and why), SIMD level, threads and the op table')
    .option('--json', 'print JSON')
    .option('--presets', 'list the model presets with their parameter counts (formula and native layout)')
    .action((opts: { json?: boolean; presets?: boolean }) => {
      if (opts.presets) {
        const rows = Object.keys(PRESETS).map((name) => {
          const c = preset(name);
          const f = paramCount(c);
          const layout = modelLayout(c).reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
          return { name, hidden: c.hidden, layers: c.layers, heads: c.heads, kvHeads: c.kvHeads, mlp: c.mlp, vocab: c.vocab, formula: f.total, layout, activePerToken: f.activePerToken + f.shared };
        });
        if (opts.json) console.log(JSON.stringify(rows, null, 2));
        else
          for (const r of rows)
            console.log(
              `${r.name.padEnd(18)} hidden ${String(r.hidden).padStart(4)} x ${String(r.layers).padStart(2)} layers, ${r.heads}/${r.kvHeads} heads, mlp ${r.mlp}, vocab ${r.vocab}: ` +
                `${(r.formula / 1e6).toFixed(2)}M parameters (formula) = ${(r.layout / 1e6).toFixed(2)}M (native layout)${r.formula === r.layout ? '' : '  MISMATCH'}; ${(r.activePerToken / 1e6).toFixed(1)}M active per token`,
            );
        return;
      }
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
      // the CUDA column comes from the CUDA addon when it is built, even where no device is usable
      const cuda = new Set(b.cudaOps ?? ops.filter((o) => o.cuda).map((o) => o.name));
      for (const o of ops) console.log(`  ${o.name.padEnd(w)}  cpu ${o.cpu ? 'yes' : 'no '}  cuda ${cuda.has(o.name) ? 'yes' : 'no'}`);
      if (b.device !== 'cuda' && b.cudaOps) console.log('(cuda: kernels present in metacot_cuda.node; not in use here, see above)');
    });
}
