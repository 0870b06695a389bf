// A judge from its command-line name: gt | cec (the exact scene judges), vlm (VIEScore by a VLM) |
// vlm-cec (the CEC prompts by a VLM), or a weighted sum "cec:0.7,vlm-cec:0.3".
import { EndpointClient, type EndpointConfig } from '../endpoint/client.js';
import { WeightedJudge } from './compose.js';
import { SceneJudge } from './scene.js';
import type { Judge } from './types.js';
import { VlmJudge, type VlmJudgeOptions } from './vlm.js';

export const JUDGE_NAMES = ['gt', 'cec', 'vlm', 'vlm-cec'] as const;
export type JudgeName = (typeof JUDGE_NAMES)[number];

export interface MakeJudgeOptions {
  /** the VLM endpoint (needed by vlm and vlm-cec) */
  endpoint?: Omit<EndpointConfig, 'model'> & { model?: string };
  vlm?: VlmJudgeOptions;
}

/** The parts of a judge spec: [[name, weight], ...]; a bare name has weight 1. */
export function parseJudgeSpec(spec: string): [JudgeName, number][] {
  const parts = spec.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (parts.length === 0) throw new Error(`--judge: expected ${JUDGE_NAMES.join(' | ')} or a weighted sum such as cec:0.7,vlm-cec:0.3, received ${JSON.stringify(spec)}`);
  return parts.map((p) => {
    const [name, w, ...rest] = p.split(':');
    if (!(JUDGE_NAMES as readonly string[]).includes(name) || rest.length > 0)
      throw new Error(`--judge: '${p}' is not a judge: expected ${JUDGE_NAMES.join(' | ')}, optionally with a weight (name:weight)`);
    const weight = w === undefined ? 1 : Number(w);
    if (!(Number.isFinite(weight) && weight > 0)) throw new Error(`--judge: the weight of '${name}' expected a number > 0, received ${JSON.stringify(w)}`);
    return [name as JudgeName, weight];
  });
}

export function makeJudge(spec: string, opts: MakeJudgeOptions = {}): Judge {
  const parts = parseJudgeSpec(spec);
  let client: EndpointClient | null = null;
  const vlmClient = () => {
    if (!opts.endpoint?.endpoint || !opts.endpoint.model) throw new Error(`--judge ${spec}: a VLM judge needs --endpoint URL and --model NAME`);
    client ??= new EndpointClient({ ...opts.endpoint, model: opts.endpoint.model });
    return client;
  };
  const one = (name: JudgeName): Judge => {
    if (name === 'gt' || name === 'cec') return new SceneJudge(name);
    return new VlmJudge(vlmClient(), name === 'vlm' ? 'viescore' : 'cec', opts.vlm);
  };
  if (parts.length === 1 && parts[0][1] === 1) return one(parts[0][0]);
  return new WeightedJudge(parts.map(([name, weight]) => ({ judge: one(name), weight })));
}
