// The RL ops' refusals are MetacotErrors with their codes (what a caller branches on), not plain
// errors of the native layer: grpo's group-id check, tensors object and offsets' length, and the
// sampler ops' host-side offsets checks.
import { afterEach, describe, expect, it } from 'vitest';

import { MetacotError } from '../../src/native/errors.js';
import { Tensor } from '../../src/native/tensor.js';
import { grpoAdvantages, grpoLoss } from '../../src/ops/grpo.js';
import { flowStep } from '../../src/ops/sampler.js';
import { Scope } from '../helpers.js';

const scope = new Scope();
afterEach(() => scope.dispose());
const f = (a: number[], shape = [a.length]) => scope.track(Tensor.from(Float32Array.from(a), shape));
const i32 = (a: number[], shape = [a.length]) => scope.track(Tensor.from(Int32Array.from(a), shape));

function refuses(fn: () => unknown, message: string, code: string): void {
  let e: unknown;
  try {
    fn();
  } catch (x) {
    e = x;
  }
  expect(e).toBeInstanceOf(MetacotError);
  expect((e as MetacotError).message).toBe(message);
  expect((e as MetacotError).code).toBe(code);
}

describe('grpo ops: refusal codes', () => {
  const adv = (groups: number[]) => () => grpoAdvantages(f([1, 2, 3]), i32(groups), f([0, 0, 0]), i32([0, 0, 0]), f([0, 0, 0, 0]), { groups: 2 });

  it('grpo_advantages: a group id outside [0, G) is an E_ARG naming the sample, below and above', () => {
    refuses(adv([0, 2, 0]), "grpo_advantages: argument 'groups' expected ids in [0, 2), received 2 at sample 1", 'E_ARG');
    refuses(adv([0, -1, 0]), "grpo_advantages: argument 'groups' expected ids in [0, 2), received -1 at sample 1", 'E_ARG');
    refuses(adv([0, 0, 3]), "grpo_advantages: argument 'groups' expected ids in [0, 2), received 3 at sample 2", 'E_ARG');
    expect(adv([1, 0, 1])).not.toThrow();
  });

  const tensors = () => ({
    v: f([0.1, 0.1, 0.1, 0.1, 0.1, 0.1], [2, 3]), x: f([0.2, 0.2, 0.2, 0.2, 0.2, 0.2], [2, 3]), xNext: f([0.3, 0.3, 0.3, 0.3, 0.3, 0.3], [2, 3]),
    offsets: i32([0, 2]), sigma: f([0.8]), sigmaNext: f([0.6]), logpOld: f([0]), adv: f([1]), dv: f([0, 0, 0, 0, 0, 0], [2, 3]), logp: f([0]), stats: f([0, 0, 0, 0, 0]),
  });
  const opts = { mode: 'sde' as const, noiseLevel: 0.7, sigmaMax: 0.9, clipRange: 0.2 };

  it('grpo_loss: a tensors argument that is not an object is named as such', () => {
    for (const [value, shown] of [[3, '3'], [undefined, 'undefined'], ['v', "'v'"]] as const)
      refuses(() => grpoLoss(value as never, opts), `grpo_loss: argument 'tensors' expected an object of tensors, received ${shown}`, 'E_ARG');
    expect(() => grpoLoss(tensors(), opts)).not.toThrow();
  });

  it('grpo_loss: offsets with fewer than 2 elements is an E_SHAPE', () => {
    refuses(() => grpoLoss({ ...tensors(), offsets: i32([0]) }, opts), "grpo_loss: argument 'offsets' expected at least 2 elements, received shape [1]", 'E_SHAPE');
  });

  it('flow_step: offsets of no elements is an E_SHAPE; offsets[0] other than 0 an E_ARG', () => {
    const step = (offsets: Tensor<'i32'>) => () =>
      flowStep(
        { x: f([0, 0, 0, 0, 0, 0], [2, 3]), v: f([1, 1, 1, 1, 1, 1], [2, 3]), xNext: f([0, 0, 0, 0, 0, 0], [2, 3]), mean: f([0, 0, 0, 0, 0, 0], [2, 3]), offsets, sigma: f([0.5]), sigmaNext: f([0.25]), std: f([0]), logp: f([0]) },
        { mode: 'ode' },
      );
    refuses(step(i32([])), "flow_step: argument 'offsets' expected at least 1 element, received shape [0]", 'E_SHAPE');
    refuses(step(i32([1, 2])), "flow_step: argument 'offsets' expected offsets[0] = 0, received offsets[0] = 1", 'E_ARG');
    expect(step(i32([0, 2]))).not.toThrow();
  });
});
