// Option parsers shared by the commands: each rejects bad input with the option's name, what was
// expected and what came (commander prints it and exits with a usage error).
import { InvalidArgumentError } from 'commander';

export function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? 'inf' : max}, got "${value}"`);
    }
    return n;
  };
}

export function fraction(name: string) {
  return (value: string): number => {
    const f = Number(value);
    if (value.trim() === '' || !(f >= 0 && f <= 1)) throw new InvalidArgumentError(`${name} must be a number in [0, 1], got "${value}"`);
    return f;
  };
}

export function positive(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a positive number, got "${value}"`);
    return n;
  };
}

export function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number >= 0, got "${value}"`);
    return n;
  };
}

export function deviceOption(name: string) {
  return (value: string): 'cpu' | 'cuda' | 'auto' => {
    if (value !== 'cpu' && value !== 'cuda' && value !== 'auto') throw new InvalidArgumentError(`${name} must be cpu, cuda or auto, got "${value}"`);
    return value;
  };
}
