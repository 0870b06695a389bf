// The `metacot` command line. Each command family lives in its own file and registers itself here.
import { Command } from 'commander';
import { registerInfo } from './info.js';
import { registerWorld } from './world.js';
import { registerCot } from './cot.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('metacot')
    .description('Meta-CoT image editing on a Mixture-of-Transformers, with native kernels')
    .showHelpAfterError();
  registerInfo(program);
  registerWorld(program);
  registerCot(program);
  await program.parseAsync(argv);
}
