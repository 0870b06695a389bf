// Reference Philox4x32-10 (Salmon et al. 2011) in BigInt arithmetic, and its standard normals by
// Box-Muller in float64: what kernels/common/philox.h computes (in float) for block `block` of
// (seed, stream). Independent of the C++ code: written from the paper's round function and constants.
const M0 = 0xd2511f53n;
const M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9n;
const W1 = 0xbb67ae85n;
const U32 = 0xffffffffn;

export function philox4x32(seed: bigint, block: bigint, stream: bigint): [number, number, number, number] {
  let c = [block & U32, (block >> 32n) & U32, stream & U32, (stream >> 32n) & U32];
  let k0 = seed & U32;
  let k1 = (seed >> 32n) & U32;
  for (let r = 0; r < 10; r++) {
    const p0 = M0 * c[0];
    const p1 = M1 * c[2];
    c = [((p1 >> 32n) ^ c[1] ^ k0) & U32, p1 & U32, ((p0 >> 32n) ^ c[3] ^ k1) & U32, p0 & U32];
    k0 = (k0 + W0) & U32;
    k1 = (k1 + W1) & U32;
  }
  return c.map(Number) as [number, number, number, number];
}

/** uniform in (0, 1]: the top 24 bits, plus one, over 2^24 */
export const philoxUniform = (x: number): number => (Math.floor(x / 256) + 1) / 16777216;

/** The four normals of one block: Box-Muller on lanes (0, 1) and (2, 3). */
export function philoxNormal4(seed: bigint, block: bigint, stream: bigint): number[] {
  const r = philox4x32(seed, block, stream);
  const out: number[] = [];
  for (let p = 0; p < 2; p++) {
    const u1 = philoxUniform(r[2 * p]);
    const u2 = philoxUniform(r[2 * p + 1]);
    const rad = Math.sqrt(-2 * Math.log(u1));
    out.push(rad * Math.cos(2 * Math.PI * u2), rad * Math.sin(2 * Math.PI * u2));
  }
  return out;
}

/** n normals of (seed, stream): element j from block j/4, lane j%4. */
export function philoxNormals(seed: bigint, stream: bigint, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let b = 0; b * 4 < n; b++) {
    const z = philoxNormal4(seed, BigInt(b), stream);
    for (let l = 0; l < 4 && b * 4 + l < n; l++) out[b * 4 + l] = z[l];
  }
  return out;
}

/** The flow noise stream of sample key k at step i: k in the high 32 bits, i in the low. */
export const flowStreamRef = (key: number, step: number): bigint => (BigInt(key >>> 0) << 32n) | BigInt(step >>> 0);
