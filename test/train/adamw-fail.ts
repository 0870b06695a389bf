// A spy on AdamW.update that rejects its n-th call with `err` and runs the real step otherwise: how
// the trainers' handling of optimizer errors (E_NAN -> stopped 'nan', anything else rethrown) is tested.
import { type MockInstance, vi } from 'vitest';

import { AdamW } from '../../src/train/optimizer.js';

export function failAdamWUpdateAt(n: number, err: Error): MockInstance {
  const update = AdamW.prototype.update;
  let calls = 0;
  return vi.spyOn(AdamW.prototype, 'update').mockImplementation(function (this: InstanceType<typeof AdamW>, lr?: number) {
    calls += 1;
    return calls === n ? Promise.reject(err) : update.call(this, lr);
  });
}
