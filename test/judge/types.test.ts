// A judge identity's file-name-safe name: kind, model and version joined by '@', with absent or
// empty fields left out (no '@@'), composed judges' parts in brackets.
import { describe, expect, it } from 'vitest';

import { identityName } from '../../src/judge/types.js';

describe('identityName', () => {
  it('leaves out a model that is absent or empty', () => {
    expect(identityName({ kind: 'k', version: '1' })).toBe('k@1');
    expect(identityName({ kind: 'k', model: '', version: '1' })).toBe('k@1');
    expect(identityName({ kind: 'k', model: 'm', version: '1' })).toBe('k@m@1');
  });
});
