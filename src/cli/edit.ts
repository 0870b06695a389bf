// `metacot edit`: think-then-edit one picture with a trained checkpoint.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

import { Command, Option } from 'commander';

import { sampleContext } from '../data/samples.js';
import { resizeImage } from '../data/records.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadCheckpoint, modelFromCheckpoint } from '../model/checkpoint.js';
import { writeFileAtomic } from '../model/safetensors.js';
import { CFG_RENORM } from '../ops/sampler.js';
import { DEFAULT_EDIT, editImage } from '../sample/edit.js';
import { decodeImage, encodePng } from '../world/image.js';
import { deviceOption, nonNegative } from './args.js';

export function registerEdit(program: Command): void {
  program
    .command('edit')
    .description('edit a picture: generate the CoT, then sample the image (think mode)')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train sft / demo')
    .requiredOption('--image <file>', 'input picture (PNG, JPEG, ...; resized to the model canvas)')
    .requiredOption('--instruction <text>', 'the edit instruction')
    .option('--out <file>', 'output PNG', 'out.png')
    .option('--no-think', 'edit directly, without generating a CoT')
    .option('--steps <n>', 'ODE steps', nonNegative('--steps'), DEFAULT_EDIT.steps)
    .option('--cfg-text <s>', 'text guidance scale', nonNegative('--cfg-text'), DEFAULT_EDIT.cfgText)
    .option('--cfg-img <s>', 'image guidance scale', nonNegative('--cfg-img'), DEFAULT_EDIT.cfgImg)
    .addOption(new Option('--renorm <kind>', 'CFG renormalisation').choices(Object.keys(CFG_RENORM)).default(DEFAULT_EDIT.renorm))
    .option('--temperature <t>', 'CoT sampling temperature (0 = greedy)', nonNegative('--temperature'), 0)
    .option('--seed <n>', 'noise seed', nonNegative('--seed'), 0)
    .option('--ema', 'use the EMA weights of the checkpoint')
    .option('--device <d>', 'cpu | cuda | auto (auto: CUDA when usable)', deviceOption('--device'), 'cpu')
    .action(async (opts) => {
      if (!existsSync(opts.checkpoint)) throw new Error(`--checkpoint: no such file '${opts.checkpoint}'`);
      const ck = loadCheckpoint(opts.checkpoint);
      if (!ck.tokenizer) throw new Error(`--checkpoint: '${opts.checkpoint}' holds no tokenizer`);
      const tokenizer = loadTokenizer(ck.tokenizer);
      let img;
      try {
        img = await decodeImage(resolve(opts.image));
      } catch (e) {
        throw new Error(`--image: cannot read '${opts.image}' as a picture: ${(e as Error).message.split('\n')[0]}`);
      }
      img = await resizeImage(img, ck.config.imageSize);
      using model = modelFromCheckpoint(ck, { grads: false, weights: opts.ema ? 'ema' : 'model', device: opts.device });
      const ctx = sampleContext(ck.config, tokenizer);
      const r = await editImage(model, ctx, img, opts.instruction, {
        think: opts.think,
        steps: opts.steps,
        cfgText: opts.cfgText,
        cfgImg: opts.cfgImg,
        renorm: opts.renorm,
        temperature: opts.temperature,
        seed: opts.seed,
      });
      if (opts.think) console.log(`CoT: ${r.cot}${r.cotComplete ? '' : ' [truncated]'}`);
      writeFileAtomic(resolve(opts.out), await encodePng(r.image));
      console.log(`wrote ${opts.out} (${r.image.width}x${r.image.height}; think ${r.seconds.think.toFixed(2)} s, denoise ${r.seconds.denoise.toFixed(2)} s)`);
    });
}
