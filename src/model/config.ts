// Model configuration (zod-validated) and presets, from the CPU demo to BAGEL-7B's dimensions.
import { z } from 'zod';

export const ModelConfigSchema = z
  .object({
    vocab: z.number().int().min(1),
    hidden: z.number().int().min(4).multipleOf(4),
    layers: z.number().int().min(1),
    heads: z.number().int().min(1),
    kvHeads: z.number().int().min(1),
    headDim: z.number().int().min(2).max(256).multipleOf(2),
    mlp: z.number().int().min(1),
    ropeTheta: z.number().gt(1).default(1e6),
    rmsEps: z.number().gt(0).default(1e-6),
    /** channels of one latent token (identity codec: patch*patch*3) */
    latentChannels: z.number().int().min(1),
    /** side of one latent patch in pixels (identity codec) */
    latentPatch: z.number().int().min(1),
    /** pixels of one ViT patch (patch*patch*3) */
    vitPatchDim: z.number().int().min(1),
    vitPatch: z.number().int().min(1),
    /** side of the 2-D position table (latent and ViT grids) */
    maxLatentSide: z.number().int().min(1),
    timestepDim: z.number().int().min(2).multipleOf(2).default(256),
    tieEmbeddings: z.boolean().default(false),
    /** canvas side in pixels the model edits at */
    imageSize: z.number().int().min(1),
  })
  .strict()
  .refine((c) => c.heads % c.kvHeads === 0, { message: 'heads must be a multiple of kvHeads', path: ['kvHeads'] });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

/** Parses a config, throwing an Error that names the field, what was expected and what came. */
export function parseModelConfig(input: unknown): ModelConfig {
  const r = ModelConfigSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0];
    const path = i.path.join('.') || '(root)';
    const got = i.path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k as string] : undefined), input);
    throw new Error(`model config: '${path}' ${i.message} (received ${JSON.stringify(got)})`);
  }
  return r.data;
}

const identityCodec = (imageSize: number, patch: number) => ({
  latentPatch: patch,
  latentChannels: patch * patch * 3,
  vitPatch: patch,
  vitPatchDim: patch * patch * 3,
  maxLatentSide: Math.max(1, Math.floor(imageSize / patch)),
  imageSize,
});

export const PRESETS = {
  /** the CPU demo: 32x32 canvas, 4x4 patches (64 latent + 64 ViT tokens per image) */
  tiny: {
    vocab: 512,
    hidden: 256,
    layers: 4,
    heads: 4,
    kvHeads: 2,
    headDim: 64,
    mlp: 768,
    ropeTheta: 10000,
    rmsEps: 1e-6,
    timestepDim: 256,
    tieEmbeddings: true,
    ...identityCodec(32, 4),
  },
  small: {
    vocab: 512,
    hidden: 512,
    layers: 8,
    heads: 8,
    kvHeads: 2,
    headDim: 64,
    mlp: 1536,
    ropeTheta: 10000,
    rmsEps: 1e-6,
    timestepDim: 256,
    tieEmbeddings: true,
    ...identityCodec(64, 4),
  },
  /** Qwen2.5-0.5B per expert (tied embeddings), BAGEL-style latents: 16-ch VAE, 2x2 patches */
  'qwen2.5-0.5b-mot': {
    vocab: 151936,
    hidden: 896,
    layers: 24,
    heads: 14,
    kvHeads: 2,
    headDim: 64,
    mlp: 4864,
    ropeTheta: 1e6,
    rmsEps: 1e-6,
    timestepDim: 256,
    tieEmbeddings: true,
    latentPatch: 2,
    latentChannels: 64,
    vitPatch: 14,
    vitPatchDim: 588,
    maxLatentSide: 64,
    imageSize: 512,
  },
  /** BAGEL-7B-MoT: Qwen2.5-7B per expert (dimensions only) */
  'bagel-7b-mot': {
    vocab: 152064,
    hidden: 3584,
    layers: 28,
    heads: 28,
    kvHeads: 4,
    headDim: 128,
    mlp: 18944,
    ropeTheta: 1e6,
    rmsEps: 1e-6,
    timestepDim: 256,
    tieEmbeddings: false,
    latentPatch: 2,
    latentChannels: 64,
    vitPatch: 14,
    vitPatchDim: 588,
    maxLatentSide: 64,
    imageSize: 1024,
  },
} satisfies Record<string, ModelConfig>;

export type PresetName = keyof typeof PRESETS;

export function preset(name: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  if (!(name in PRESETS))
    throw new Error(`model preset: expected one of ${Object.keys(PRESETS).join(', ')}, received '${name}'`);
  return parseModelConfig({ ...PRESETS[name as PresetName], ...overrides });
}

/**
 * Parameter count from the formula (checked against the native layout by the tests):
 * shared V*D (x2 untied) + ViT connector D*P + D + 2(D^2 + D) + gen heads (D*T + D + D^2 + D + D*C + D + C*D + C)
 * + 2 experts x L layers x [2D + 2hd + (qd*D + qd) + 2(kvd*D + kvd) + D*qd + 3*D*F] + 2D final norms.
 */
export function paramCount(c: ModelConfig): { total: number; perExpertLayer: number; shared: number; activePerToken: number } {
  const D = c.hidden;
  const qd = c.heads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const shared = c.vocab * D * (c.tieEmbeddings ? 1 : 2);
  const vit = D * c.vitPatchDim + D + 2 * (D * D + D);
  const gen = D * c.timestepDim + D + D * D + D + D * c.latentChannels + D + c.latentChannels * D + c.latentChannels;
  const perExpertLayer = 2 * D + 2 * c.headDim + (qd * D + qd) + 2 * (kvd * D + kvd) + D * qd + 3 * D * c.mlp;
  const total = shared + vit + gen + 2 * c.layers * perExpertLayer + 2 * D;
  return { total, perExpertLayer, shared, activePerToken: c.layers * perExpertLayer };
}

/** The subset of the config the native model reads. */
export function nativeConfig(c: ModelConfig): Record<string, number | boolean> {
  return {
    vocab: c.vocab,
    hidden: c.hidden,
    layers: c.layers,
    heads: c.heads,
    kvHeads: c.kvHeads,
    headDim: c.headDim,
    mlp: c.mlp,
    ropeTheta: c.ropeTheta,
    rmsEps: c.rmsEps,
    latentChannels: c.latentChannels,
    vitPatchDim: c.vitPatchDim,
    maxLatentSide: c.maxLatentSide,
    timestepDim: c.timestepDim,
    tieEmbeddings: c.tieEmbeddings,
  };
}
