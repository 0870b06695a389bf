import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';

import { deviceOption } from '../../src/cli/args.js';
import { main } from '../../src/cli/main.js';
import { loadBackend } from '../../src/native/loader.js';

describe('--device', () => {
  it('takes cpu, cuda or auto and names the option otherwise', () => {
    const parse = deviceOption('--device');
    for (const d of ['cpu', 'cuda', 'auto'] as const) expect(parse(d)).toBe(d);
    expect(() => parse('gpu')).toThrow(InvalidArgumentError);
    expect(() => parse('gpu')).toThrow('--device must be cpu, cuda or auto, got "gpu"');
  });

  it.skipIf(loadBackend().device === 'cuda')('train sft --device cuda where CUDA is not usable: a clear error naming the option and the reason', async () => {
    await expect(main(['node', 'metacot', 'train', 'sft', '--device', 'cuda', '--steps', '1', '--out', '/tmp/metacot-no-cuda'])).rejects.toThrow(
      /option 'device' expected 'cpu' or 'auto' here \(CUDA is not usable: .+\), received 'cuda'/,
    );
  });
});
