// Sampler ops (kernels/sampler): BAGEL's two-scale CFG with renormalisation.
import type { Tensor } from '../native/tensor.js';
import { argError, describeValue } from '../native/errors.js';
import { defineOp } from './registry.js';
import { numberArg, numelArg, rankArg, sameDevice, tensorArg } from './validate.js';

export const CFG_RENORM = { global: 0, channel: 1, text_channel: 2 } as const;
export type CfgRenorm = keyof typeof CFG_RENORM;

/** out = CFG(v, vNoText, vNoImage) with scales sText, sImg and renorm (DESIGN.md section 3) */
export const cfgCombine = defineOp(
  'cfg_combine',
  (v: Tensor, vNoText: Tensor, vNoImage: Tensor, out: Tensor, sText: number, sImg: number, renorm: CfgRenorm, renormMin: number) => {
    const op = 'cfg_combine';
    tensorArg(op, 'v', v);
    rankArg(op, 'v', v, 2);
    tensorArg(op, 'vNoText', vNoText);
    tensorArg(op, 'vNoImage', vNoImage);
    tensorArg(op, 'out', out);
    numelArg(op, 'vNoText', vNoText, v.numel, "'v'");
    numelArg(op, 'vNoImage', vNoImage, v.numel, "'v'");
    numelArg(op, 'out', out, v.numel, "'v'");
    sameDevice(op, { v, vNoText, vNoImage, out });
    numberArg(op, 'sText', sText);
    numberArg(op, 'sImg', sImg);
    numberArg(op, 'renormMin', renormMin, { min: 0, max: 1 });
    if (!(renorm in CFG_RENORM)) throw argError(op, 'renorm', "'global' | 'channel' | 'text_channel'", describeValue(renorm));
    return { tensors: [v, vNoText, vNoImage, out.reshape(v.shape)], ints: [CFG_RENORM[renorm]], floats: [sText, sImg, renormMin] };
  },
);
