// The `metacot` command line. Each command family lives in its own file and registers itself here.
import { Command } from 'commander';
import { registerInfo } from './info.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('metacot')
    .description('Meta-CoT image editing on a Mixture-of-Transformers, with native kernels')
    .showHelpAfterError();
  registerInfo(program);
  await program.parseAsync(argv);
}
