// safetensors read/write (the format: u64 little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the raw
// little-endian data). Written atomically (temp file + fsync + rename). Tensors keep the order given,
// and the header is serialised deterministically, so load -> save reproduces a file byte for byte.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';

export type StDType = 'F32' | 'I32' | 'U8' | 'BF16' | 'F64' | 'I64';

export interface StTensor {
  name: string;
  dtype: StDType;
  shape: number[];
  data: Uint8Array;
}

const SIZES: Record<StDType, number> = { F32: 4, I32: 4, U8: 1, BF16: 2, F64: 8, I64: 8 };

export function f32Tensor(name: string, shape: number[], a: Float32Array): StTensor {
  return { name, dtype: 'F32', shape, data: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) };
}

export function asFloat32(t: StTensor): Float32Array {
  if (t.dtype !== 'F32') throw new Error(`safetensors: tensor '${t.name}' expected dtype F32, received ${t.dtype}`);
  // copy into an aligned buffer (the file's data offset need not be 4-aligned)
  const out = new Float32Array(t.data.byteLength / 4);
  new Uint8Array(out.buffer).set(t.data);
  return out;
}

export function serialize(tensors: StTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let off = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`safetensors: duplicate tensor name '${t.name}'`);
    names.add(t.name);
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n * SIZES[t.dtype] !== t.data.byteLength)
      throw new Error(`safetensors: tensor '${t.name}' expected ${n * SIZES[t.dtype]} bytes for ${t.dtype} [${t.shape.join(', ')}], received ${t.data.byteLength}`);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.data.byteLength] };
    off += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // pad the header with spaces to 8 bytes (the data then starts 8-aligned, as the reference writer does)
  const raw = new TextEncoder().encode(json);
  const pad = (8 - ((8 + raw.length) % 8)) % 8;
  json += ' '.repeat(pad);
  const hbytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hbytes.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let p = 8 + hbytes.length;
  for (const t of tensors) {
    out.set(t.data, p);
    p += t.data.byteLength;
  }
  return out;
}

export function parse(buf: Uint8Array, source = 'buffer'): { tensors: StTensor[]; metadata: Record<string, string> } {
  if (buf.byteLength < 8) throw new Error(`safetensors: ${source} is too short (${buf.byteLength} bytes) to hold a header`);
  const hlen = Number(new DataView(buf.buffer, buf.byteOffset, 8).getBigUint64(0, true));
  if (hlen > buf.byteLength - 8) throw new Error(`safetensors: ${source} header length ${hlen} exceeds the file size ${buf.byteLength}`);
  let header: Record<string, { dtype: StDType; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new Error(`safetensors: ${source} has an unreadable JSON header (${(e as Error).message})`);
  }
  const base = 8 + hlen;
  const tensors: StTensor[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as { dtype: StDType; shape: number[]; data_offsets: [number, number] };
    if (!(e.dtype in SIZES)) throw new Error(`safetensors: ${source} tensor '${name}' has unsupported dtype ${String(e.dtype)}`);
    const [b, en] = e.data_offsets;
    const n = e.shape.reduce((a, c) => a * c, 1);
    if (en - b !== n * SIZES[e.dtype] || base + en > buf.byteLength)
      throw new Error(`safetensors: ${source} tensor '${name}' has inconsistent offsets [${b}, ${en}] for ${e.dtype} [${e.shape.join(', ')}]`);
    tensors.push({ name, dtype: e.dtype, shape: e.shape, data: buf.subarray(base + b, base + en) });
  }
  return { tensors, metadata };
}

/** Writes atomically: a temp file beside the target, fsync, rename. A crash leaves the old file. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export function saveSafetensors(path: string, tensors: StTensor[], metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, serialize(tensors, metadata));
}

export function loadSafetensors(path: string): { tensors: StTensor[]; metadata: Record<string, string> } {
  let buf: Uint8Array;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new Error(`safetensors: cannot read '${path}': ${(e as Error).message}`);
  }
  return parse(buf, `'${path}'`);
}
