// Errors thrown by metacot's TypeScript layer before a native call, in sharp's style: the op, the
// argument, what was expected and what came. Native errors already carry `code`; rethrowAsync
// gives errors from async ops the caller's stack (a libuv worker has no JS stack of its own).
import type { NativeErrorCode } from './binding.js';

export class MetacotError extends Error {
  readonly code: NativeErrorCode;
  constructor(code: NativeErrorCode, message: string) {
    super(message);
    this.name = 'MetacotError';
    this.code = code;
  }
}

export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return `[${v.map(describeValue).join(', ')}]`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as { length: number }).length})`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/** `op: argument 'arg' expected EXPECTED, received RECEIVED` */
export function argError(
  op: string,
  arg: string,
  expected: string,
  received: string,
  code: NativeErrorCode = 'E_ARG',
): MetacotError {
  return new MetacotError(code, `${op}: argument '${arg}' expected ${expected}, received ${received}`);
}

/** Rewrites an error from an async native call so its stack shows the JS call site. */
export function withCallerStack(err: unknown, callSite: Error): unknown {
  if (err instanceof Error && callSite.stack) {
    const lines = callSite.stack.split('\n').slice(1).join('\n');
    err.stack = `${err.name}: ${err.message}\n${lines}`;
  }
  return err;
}
