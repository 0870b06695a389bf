// Profiling driver for the block benchmark (not a benchmark itself): runs only our side of one shape
// of bench/block.ts for a number of iterations, so `perf record` / `perf stat` can attribute the time:
//   node --import tsx bench/lib/block_profile.ts [tiny|0.5b] [iters] [fwd|fwdbwd]
//   perf record -g -o /tmp/p.data -- node --import tsx bench/lib/block_profile.ts 0.5b 5
//   node --import tsx bench/lib/block_profile.ts 0.5b 0 dump DIR   (writes the peer's inputs to DIR, for
//     /usr/bin/python3 bench/peers/mot_torch.py --dir DIR --profile)
// Prints per-iteration forward / backward ms.
import { mkdirSync } from 'node:fs';

import { BatchTensors } from '../../src/model/batch.js';
import { MotModel } from '../../src/model/model.js';
import { randomize, shapes, writeInputs } from '../block.js';
import { buildBatch } from './mot_batch.js';

const [shapeName = '0.5b', itersArg = '5', mode = 'fwdbwd', dumpDir] = process.argv.slice(2);
const sh = shapes(false, null).find((s) => s.name === shapeName);
if (!sh) throw new Error(`block_profile: unknown shape '${shapeName}'`);
const batch = buildBatch(sh.cfg, sh.segs, 11);
using model = MotModel.create(sh.cfg, { seed: 5 });
randomize(model, 1000);
const bt = new BatchTensors(batch, sh.cfg.vitPatchDim, sh.cfg.latentChannels);
if (mode === 'dump') {
  if (!dumpDir) throw new Error('block_profile: dump needs a directory');
  mkdirSync(dumpDir, { recursive: true });
  writeInputs(dumpDir, model, batch, 1, 1);
  console.log(`wrote ${dumpDir}`);
  process.exit(0);
}
await model.forward(bt);
if (mode !== 'fwd') await model.backward();
// BLOCK_PROFILE_SLEEP_MS: idle time before each iteration (the bench waits for an idle machine
// between iterations; this shows what a cold start of an iteration costs)
const sleepMs = Number(process.env.BLOCK_PROFILE_SLEEP_MS ?? 0);
for (let i = 0; i < Number(itersArg); i++) {
  if (sleepMs > 0) await new Promise((r) => setTimeout(r, sleepMs));
  const t0 = process.hrtime.bigint();
  await model.forward(bt);
  const t1 = process.hrtime.bigint();
  if (mode !== 'fwd') await model.backward();
  const t2 = process.hrtime.bigint();
  console.log(`iter ${i}: fwd ${(Number(t1 - t0) / 1e6).toFixed(1)} ms, bwd ${(Number(t2 - t1) / 1e6).toFixed(1)} ms`);
}
bt.dispose();
