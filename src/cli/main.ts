// The `metacot` command line. Each command family lives in its own file and registers itself here.
import { Command } from 'commander';

import { registerCheck } from './check.js';
import { registerCot } from './cot.js';
import { registerDemo } from './demo.js';
import { registerEdit } from './edit.js';
import { registerInfo } from './info.js';
import { registerJudge } from './judge.js';
import { registerTrain } from './train.js';
import { registerWorld } from './world.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('metacot')
    .description('Meta-CoT image editing on a Mixture-of-Transformers, with native kernels')
    .showHelpAfterError();
  registerDemo(program);
  registerTrain(program);
  registerEdit(program);
  registerWorld(program);
  registerCot(program);
  registerJudge(program);
  registerInfo(program);
  registerCheck(program);
  await program.parseAsync(argv);
}
