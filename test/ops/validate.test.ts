// The argument checks every op wrapper shares (src/ops/validate.ts): what each accepts and the
// message of what it refuses (op, argument, what was expected, what came).
import { afterEach, describe, expect, it } from 'vitest';

import { Tensor } from '../../src/native/tensor.js';
import { boolArg, numberArg, numelArg, rankArg, sameDevice, shapeArg, tensorArg } from '../../src/ops/validate.js';
import { Scope } from '../helpers.js';

const scope = new Scope();
afterEach(() => scope.dispose());

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'none';
};

describe('op argument checks', () => {
  it('tensorArg: a live Tensor of the dtype', () => {
    const t = scope.track(Tensor.zeros([2, 3]));
    expect(tensorArg('op', 'x', t)).toBe(t);
    const i = scope.track(Tensor.zeros([4], { dtype: 'i32' }));
    expect(tensorArg('op', 'ids', i, 'i32')).toBe(i);
    expect(() => tensorArg('op', 'x', i)).toThrow("op: argument 'x' expected dtype f32, received i32 [4]");
    expect(code(() => tensorArg('op', 'x', i))).toBe('E_DTYPE');
    expect(() => tensorArg('op', 'ids', t, 'i32')).toThrow("op: argument 'ids' expected dtype i32, received f32 [2, 3]");
    expect(() => tensorArg('op', 'x', [1, 2])).toThrow("op: argument 'x' expected a Tensor, received");
    expect(() => tensorArg('op', 'x', undefined)).toThrow("op: argument 'x' expected a Tensor, received undefined");
    const gone = Tensor.zeros([1]);
    gone.dispose();
    expect(() => tensorArg('op', 'x', gone)).toThrow("op: argument 'x' was disposed");
    expect(code(() => tensorArg('op', 'x', gone))).toBe('E_DISPOSED');
  });

  it('shapeArg: exact sizes, null for any size, the rank too', () => {
    const t = scope.track(Tensor.zeros([2, 3]));
    shapeArg('op', 'x', t, [2, 3]);
    shapeArg('op', 'x', t, [null, 3]);
    shapeArg('op', 'x', t, [2, null]);
    expect(() => shapeArg('op', 'x', t, [3, 2])).toThrow("op: argument 'x' expected shape [3, 2], received shape [2, 3]");
    expect(() => shapeArg('op', 'x', t, [null, 4])).toThrow("op: argument 'x' expected shape [*, 4], received shape [2, 3]");
    expect(() => shapeArg('op', 'x', t, [2, 3, 1])).toThrow("op: argument 'x' expected shape [2, 3, 1], received shape [2, 3]");
    expect(() => shapeArg('op', 'x', t, [2])).toThrow("op: argument 'x' expected shape [2], received shape [2, 3]");
    expect(code(() => shapeArg('op', 'x', t, [2]))).toBe('E_SHAPE');
  });

  it('numelArg and rankArg', () => {
    const t = scope.track(Tensor.zeros([2, 3, 4]));
    numelArg('op', 'x', t, 24);
    expect(() => numelArg('op', 'x', t, 12)).toThrow("op: argument 'x' expected 12 elements, received shape [2, 3, 4]");
    expect(() => numelArg('op', 'x', t, 12, "'y'")).toThrow("op: argument 'x' expected 12 elements (like 'y'), received shape [2, 3, 4]");
    expect(code(() => numelArg('op', 'x', t, 12))).toBe('E_SHAPE');
    rankArg('op', 'x', t, 3);
    rankArg('op', 'x', t, 2, 3);
    rankArg('op', 'x', t, 3, 4);
    expect(() => rankArg('op', 'x', t, 2)).toThrow("op: argument 'x' expected a 2-D tensor, received shape [2, 3, 4]");
    expect(() => rankArg('op', 'x', t, 4)).toThrow("op: argument 'x' expected a 4-D tensor, received shape [2, 3, 4]");
    expect(() => rankArg('op', 'x', t, 1, 2)).toThrow("op: argument 'x' expected a 1- to 2-D tensor, received shape [2, 3, 4]");
    expect(() => rankArg('op', 'x', t, 4, 5)).toThrow("op: argument 'x' expected a 4- to 5-D tensor, received shape [2, 3, 4]");
    expect(code(() => rankArg('op', 'x', t, 2))).toBe('E_SHAPE');
  });

  it('sameDevice: every tensor where the first one is, named by its argument', () => {
    const at = (device: string) => ({ device }) as unknown as Tensor;
    expect(sameDevice('op', { a: at('cpu'), b: at('cpu') })).toBe('cpu');
    expect(sameDevice('op', { a: at('cuda'), b: at('cuda') })).toBe('cuda');
    expect(() => sameDevice('op', { a: at('cpu'), b: at('cpu'), c: at('cuda') })).toThrow("op: argument 'c' expected device cpu (like 'a'), received cuda");
    expect(() => sameDevice('op', { q: at('cuda'), k: at('cpu') })).toThrow("op: argument 'k' expected device cuda (like 'q'), received cpu");
    expect(code(() => sameDevice('op', { q: at('cuda'), k: at('cpu') }))).toBe('E_DEVICE');
  });

  it('numberArg: finite, integer, bounds (inclusive and exclusive), with the bounds in the message', () => {
    expect(numberArg('op', 'n', 3)).toBe(3);
    expect(numberArg('op', 'n', -2.5)).toBe(-2.5);
    expect(numberArg('op', 'n', 0, { min: 0 })).toBe(0);
    expect(numberArg('op', 'n', 1, { max: 1 })).toBe(1);
    expect(numberArg('op', 'n', 4, { integer: true, min: 4, max: 4 })).toBe(4);
    expect(numberArg('op', 'n', 0.1, { min: 0, exclusiveMin: true })).toBe(0.1);
    expect(() => numberArg('op', 'n', 0, { min: 0, exclusiveMin: true })).toThrow("op: argument 'n' expected a finite number > 0, received 0");
    expect(() => numberArg('op', 'n', -1, { min: 0 })).toThrow("op: argument 'n' expected a finite number >= 0, received -1");
    expect(() => numberArg('op', 'n', 2, { max: 1 })).toThrow("op: argument 'n' expected a finite number <= 1, received 2");
    expect(() => numberArg('op', 'n', 2, { min: 0, max: 1 })).toThrow("op: argument 'n' expected a finite number >= 0 <= 1, received 2");
    expect(() => numberArg('op', 'n', 1.5, { integer: true })).toThrow("op: argument 'n' expected an integer, received 1.5");
    expect(() => numberArg('op', 'n', 3, { integer: true, min: 4 })).toThrow("op: argument 'n' expected an integer >= 4, received 3");
    expect(() => numberArg('op', 'n', Number.NaN)).toThrow("op: argument 'n' expected a finite number, received NaN");
    expect(() => numberArg('op', 'n', Number.POSITIVE_INFINITY)).toThrow("op: argument 'n' expected a finite number, received Infinity");
    expect(() => numberArg('op', 'n', '3')).toThrow("op: argument 'n' expected a finite number, received '3'");
    expect(code(() => numberArg('op', 'n', '3'))).toBe('E_ARG');
  });

  it('boolArg', () => {
    expect(boolArg('op', 'b', true)).toBe(true);
    expect(boolArg('op', 'b', false)).toBe(false);
    expect(() => boolArg('op', 'b', 1)).toThrow("op: argument 'b' expected a boolean, received 1");
    expect(() => boolArg('op', 'b', 'true')).toThrow("op: argument 'b' expected a boolean, received 'true'");
  });
});
