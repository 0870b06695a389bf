// Ctrl-C for the trainers: the first asks the run to stop after its step and write a checkpoint (the
// returned signal), a second exits at once.
export function interruptible(): { signal: AbortSignal; [Symbol.dispose](): void } {
  const ac = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) {
      console.error('\nsecond Ctrl-C: exiting without waiting for the checkpoint');
      process.exit(130);
    }
    console.error('\nCtrl-C: finishing this step and writing a checkpoint (Ctrl-C again to quit at once)');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: ac.signal, [Symbol.dispose]: () => process.off('SIGINT', onSigint) };
}

/** --resume / --resume-or-start as the trainers' resume option. */
export function resumeMode(cmd: string, opts: { resume?: boolean; resumeOrStart?: boolean }): boolean | 'or-start' {
  if (opts.resume && opts.resumeOrStart) throw new Error(`${cmd}: options '--resume' and '--resume-or-start' expected one or the other, received both`);
  return opts.resumeOrStart ? 'or-start' : Boolean(opts.resume);
}
