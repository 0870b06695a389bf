// Progress display for long work: a cli-progress bar (rate, ETA, custom fields) on a terminal, and a
// plain line every few seconds when output is redirected (CI logs, files), so nothing is silent.
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  label: string;
  total: number;
  /** extra fields shown after the bar: format like '{loss}' in `fields` */
  fields?: string;
  /** plain-line interval when not a TTY (ms) */
  plainEveryMs?: number;
  stream?: NodeJS.WriteStream;
  /** silence entirely (tests) */
  quiet?: boolean;
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastPlain = 0;
  // Rate and ETA count from the first update (a resumed run starts at its checkpoint's step, and
  // the steps before it were not done in this process).
  private t0 = Date.now();
  private first: number | null = null;
  private value = 0;
  private payload: Record<string, string | number> = {};

  constructor(private readonly opts: ProgressOptions) {
    const stream = opts.stream ?? process.stderr;
    if (opts.quiet) return;
    if (stream.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${opts.label} |{bar}| {value}/{total} {percentage}% | {rate} | ETA {eta_formatted}${opts.fields ? ` | ${opts.fields}` : ''}`,
          barCompleteChar: '\u2588',
          barIncompleteChar: '\u2591',
          hideCursor: true,
          etaBuffer: 50,
          stream,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(opts.total, 0, { rate: '', ...this.payload });
    }
  }

  private rate(): string {
    const s = (Date.now() - this.t0) / 1000;
    const done = this.value - (this.first ?? 0);
    return s > 0 && done > 0 ? `${(done / s).toFixed(2)}/s` : '';
  }

  update(value: number, payload: Record<string, string | number> = {}): void {
    if (this.first === null) {
      this.first = value;
      this.t0 = Date.now();
    }
    this.value = value;
    this.payload = { ...this.payload, ...payload };
    if (this.opts.quiet) return;
    if (this.bar) {
      this.bar.update(value, { rate: this.rate(), ...this.payload });
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain >= (this.opts.plainEveryMs ?? 5000) || value >= this.opts.total) {
      this.lastPlain = now;
      const el = (now - this.t0) / 1000;
      const done = value - this.first;
      const eta = done > 0 ? (el / done) * (this.opts.total - value) : 0;
      const fields = Object.entries(this.payload)
        .map(([k, v]) => `${k} ${v}`)
        .join(' | ');
      (this.opts.stream ?? process.stderr).write(
        `${this.opts.label} ${value}/${this.opts.total} | ${this.rate()} | ETA ${eta.toFixed(0)}s${fields ? ` | ${fields}` : ''}\n`,
      );
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}
