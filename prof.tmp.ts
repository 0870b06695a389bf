import { sampleContext } from './src/data/samples.js';
import { buildWorldTokenizer } from './src/data/vocab.js';
import { preset } from './src/model/config.js';
import { MotModel } from './src/model/model.js';
import { cotForEdit } from './src/cot/build.js';
import { sampleBatch } from './src/sample/batch.js';
import { renderScene } from './src/world/render.js';
import { generateEdit } from './src/world/sample.js';
const tok = buildWorldTokenizer();
const cfg = preset('tiny', { vocab: Math.ceil(tok.size / 64) * 64 });
const model = MotModel.create(cfg, { seed: 1, grads: false });
const ctx = sampleContext(cfg, tok);
const { edit } = generateEdit('color_alter', 3);
const source = renderScene(edit.source).image;
const cot = cotForEdit(edit, 'meta');
const common = { steps: 10, timestepShift: 3, cfgText: 4, cfgImg: 2, cfgInterval: [0, 1] as [number, number], renorm: 'text_channel' as const, renormMin: 0, seed: 1 };
const reqs = Array.from({ length: 12 }, (_, k) => ({ source, instruction: edit.instruction, cot, key: k }));
for (const [name, o] of [['guided', common], ['unguided', { ...common, cfgText: 1, cfgImg: 1 }]] as const) {
  const r = await sampleBatch(model, ctx, reqs, o);
  console.log(name, r.seconds);
}
