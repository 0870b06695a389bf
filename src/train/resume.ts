// What a resumed run must agree on with the run that wrote its checkpoint. The data order is a pure
// function of (seed, step, micro) and the data config, so a checkpoint stores no loader state, but a
// resume under another seed, data mixture, optimizer or loss weighting would silently train on
// something else: those fields are compared and a difference refuses the resume, naming the field.
// `steps` may change (a longer run continues under the schedule of the new total), and so may what
// only affects logging and saving.

/** Fields of the trainer config that may differ between the saved run and the resumed one. */
export const RESUMABLE_CHANGES: readonly string[] = ['steps', 'checkpointEvery', 'logEvery'];

/** The path of the first difference between two JSON values ('' = the roots), or null when equal. */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (Object.is(a, b)) return null;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) return path;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const k of keys) {
    const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
    if (d !== null) return d;
  }
  return null;
}

function without(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
}

/**
 * Throws when the checkpoint's saved state (`meta` fields and the trainer config under `trainerKey`)
 * differs from the resumed run's in anything but RESUMABLE_CHANGES.
 */
export function checkResumable(path: string, saved: unknown, current: Record<string, unknown>, trainerKey: string): void {
  const norm = (s: Record<string, unknown>) => {
    const t = s[trainerKey];
    return { ...s, [trainerKey]: typeof t === 'object' && t !== null ? without(t as Record<string, unknown>, RESUMABLE_CHANGES) : t };
  };
  // JSON round trip: the current state as the checkpoint would store it (undefined fields dropped)
  const cur = norm(JSON.parse(JSON.stringify(current)) as Record<string, unknown>);
  const old = typeof saved === 'object' && saved !== null ? norm(saved as Record<string, unknown>) : saved;
  const d = firstDifference(old, cur);
  if (d === null) return;
  const at = (v: unknown) => (d ? d.split('.') : []).reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined), v);
  throw new Error(
    `--resume: checkpoint '${path}' was written by a run with ${d || 'state'} = ${JSON.stringify(at(old)) ?? '(absent)'}, ` +
      `this run has ${JSON.stringify(at(cur)) ?? '(absent)'}; resuming would not continue that run (start a new one in another --out)`,
  );
}
