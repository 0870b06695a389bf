// `metacot edit`: think-then-edit pictures with a trained checkpoint: one picture and one instruction,
// one picture and several instructions, several pictures and one instruction, or pairs; the CoTs are
// generated together (thinkBatch) and the images sampled together by the batched sampler.
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';

import { Command, Option } from 'commander';

import { sampleContext } from '../data/samples.js';
import { resizeImage } from '../data/records.js';
import { loadTokenizer } from '../data/tokenizer.js';
import { loadCheckpoint, modelFromCheckpoint } from '../model/checkpoint.js';
import { writeFileAtomic } from '../model/safetensors.js';
import { CFG_RENORM } from '../ops/sampler.js';
import { sampleBatch } from '../sample/batch.js';
import { DEFAULT_EDIT, type ThinkOutput, noiseKey, samplerOptions, thinkBatch } from '../sample/edit.js';
import { decodeImage, encodePng, type RgbImage } from '../world/image.js';
import { deviceOption, nonNegative } from './args.js';

export function registerEdit(program: Command): void {
  program
    .command('edit')
    .description('edit a picture: generate the CoT, then sample the image (think mode)')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train sft / demo')
    .requiredOption('--image <files...>', 'input picture(s) (PNG, JPEG, ...; resized to the model canvas)')
    .requiredOption('--instruction <texts...>', 'the edit instruction(s): one for every picture, or one per picture')
    .option('--out <file>', 'output PNG (several edits: <name>-<i>.png beside it)', 'out.png')
    .option('--no-think', 'edit directly, without generating a CoT')
    .option('--steps <n>', 'ODE steps', nonNegative('--steps'), DEFAULT_EDIT.steps)
    .option('--cfg-text <s>', 'text guidance scale', nonNegative('--cfg-text'), DEFAULT_EDIT.cfgText)
    .option('--cfg-img <s>', 'image guidance scale', nonNegative('--cfg-img'), DEFAULT_EDIT.cfgImg)
    .addOption(new Option('--renorm <kind>', 'CFG renormalisation').choices(Object.keys(CFG_RENORM)).default(DEFAULT_EDIT.renorm))
    .option('--temperature <t>', 'CoT sampling temperature (0 = greedy)', nonNegative('--temperature'), 0)
    .option('--seed <n>', 'noise seed (edit i uses seed + i)', nonNegative('--seed'), 0)
    .option('--ema', 'use the EMA weights of the checkpoint')
    .option('--device <d>', 'cpu | cuda | auto (auto: CUDA when usable)', deviceOption('--device'), 'cpu')
    .action(async (opts) => {
      if (!existsSync(opts.checkpoint)) throw new Error(`--checkpoint: no such file '${opts.checkpoint}'`);
      const ck = loadCheckpoint(opts.checkpoint);
      if (!ck.tokenizer) throw new Error(`--checkpoint: '${opts.checkpoint}' holds no tokenizer`);
      const tokenizer = loadTokenizer(ck.tokenizer);
      const images: string[] = opts.image;
      const instructions: string[] = opts.instruction;
      const n = Math.max(images.length, instructions.length);
      if (images.length !== instructions.length && images.length !== 1 && instructions.length !== 1)
        throw new Error(`--image, --instruction: expected one picture, one instruction, or as many of each; received ${images.length} pictures and ${instructions.length} instructions`);
      const pictures: RgbImage[] = [];
      for (const file of images) {
        let img;
        try {
          img = await decodeImage(resolve(file));
        } catch (e) {
          throw new Error(`--image: cannot read '${file}' as a picture: ${(e as Error).message.split('\n')[0]}`);
        }
        pictures.push(await resizeImage(img, ck.config.imageSize));
      }
      using model = modelFromCheckpoint(ck, { grads: false, weights: opts.ema ? 'ema' : 'model', device: opts.device });
      const ctx = sampleContext(ck.config, tokenizer);
      const o = { ...DEFAULT_EDIT, think: opts.think, steps: opts.steps, cfgText: opts.cfgText, cfgImg: opts.cfgImg, renorm: opts.renorm, temperature: opts.temperature };
      const t0 = performance.now();
      const jobs = Array.from({ length: n }, (_, i) => ({ source: pictures[images.length === 1 ? 0 : i], instruction: instructions[instructions.length === 1 ? 0 : i], seed: opts.seed + i }));
      const thoughts: (ThinkOutput | null)[] = opts.think ? await thinkBatch(model, ctx, jobs, o) : jobs.map(() => null);
      const t1 = performance.now();
      const res = await sampleBatch(model, ctx, jobs.map((j, i) => ({ source: j.source, instruction: j.instruction, cot: thoughts[i]?.cot ?? '', key: noiseKey(j.seed) })), samplerOptions(o));
      const t2 = performance.now();
      const out = resolve(opts.out);
      const name = (i: number) => (n === 1 ? out : join(dirname(out), `${basename(out, extname(out))}-${i}${extname(out) || '.png'}`));
      for (let i = 0; i < n; i++) {
        const th = thoughts[i];
        if (th) console.log(`${n > 1 ? `[${i}] ` : ''}CoT: ${th.cot}${th.cotComplete ? '' : ' [truncated]'}`);
        writeFileAtomic(name(i), await encodePng(res.outputs[i].image));
      }
      const img0 = res.outputs[0].image;
      console.log(`wrote ${n === 1 ? opts.out : `${n} pictures ${name(0)} .. ${name(n - 1)}`} (${img0.width}x${img0.height}; think ${((t1 - t0) / 1000).toFixed(2)} s, denoise ${((t2 - t1) / 1000).toFixed(2)} s)`);
    });
}
