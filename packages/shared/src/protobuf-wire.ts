// The protobuf wire format, low level: a cursor over a message's bytes (varints, length-delimited
// fields, skipping what is not read) and the interning of strings many objects share.
// Wire format: https://protobuf.dev/programming-guides/encoding/

export class ProtobufError extends Error {
  override name = 'ProtobufError';
}

export const VARINT = 0;
const FIXED64 = 1;
export const BYTES = 2;
const FIXED32 = 5;

/**
 * One copy of each string that many pods share (namespaces, label values, phases): JSON.parse
 * internalizes short values, a decoder making a new string per pod would hold 150,000 copies of
 * a namespace's name. Bounded: cleared when full (unique values such as hashes come and go).
 */
const shared = new Map<string, string>();
const SHARED_MAX = 50_000;

export function intern(s: string): string {
  const known = shared.get(s);
  if (known !== undefined) return known;
  if (shared.size >= SHARED_MAX) shared.clear();
  shared.set(s, s);
  return s;
}

/** A cursor over one message's bytes [pos, end). */
export class Reader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get more(): boolean {
    return this.pos < this.end;
  }

  /** A varint as a number: exact up to 2^53 (resourceVersions are strings, times seconds). */
  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++] as number;
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** The [start, end) of a length-delimited field, the cursor moved past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) throw new ProtobufError('length-delimited field runs past its message');
    this.pos = start + len;
    return [start, start + len];
  }

  sub(): Reader {
    const [s, e] = this.span();
    return new Reader(this.buf, s, e);
  }

  string(): string {
    const [s, e] = this.span();
    return this.buf.toString('utf8', s, e);
  }

  /** A string many objects share (see intern). */
  sharedString(): string {
    return intern(this.string());
  }

  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === BYTES) this.span();
    else if (wire === FIXED64) this.pos += 8;
    else if (wire === FIXED32) this.pos += 4;
    else throw new ProtobufError(`unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new ProtobufError('field runs past its message');
  }

  /** Reads the length-delimited fields `on` has a reader for (by field number); skips the rest. */
  bytesFields(on: Record<number, () => void>): void {
    this.fields((f, w) => {
      const read = w === BYTES ? on[f] : undefined;
      read?.();
      return read !== undefined;
    });
  }

  /** Calls `on(field, wire)` for each field; `on` reads the value or returns false to skip it. */
  fields(on: (field: number, wire: number) => boolean): void {
    while (this.more) {
      const tag = this.varint();
      const wire = tag & 7;
      if (!on(Math.floor(tag / 8), wire)) this.skip(wire);
    }
  }
}

/** What the decoders read with: Reader here (bench/protobuf-reader.ts plugs in another to compare). */
export interface WireReader {
  readonly buf: Buffer;
  readonly more: boolean;
  varint(): number;
  span(): [number, number];
  sub(): WireReader;
  string(): string;
  sharedString(): string;
  skip(wire: number): void;
  bytesFields(on: Record<number, () => void>): void;
  fields(on: (field: number, wire: number) => boolean): void;
}

/** A reader over buf's [pos, end). */
export type OpenReader = (buf: Buffer, pos: number, end: number) => WireReader;

export const openReader: OpenReader = (buf, pos, end) => new Reader(buf, pos, end);
