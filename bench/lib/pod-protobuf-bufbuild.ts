// bench/protobuf-reader.ts's candidate: packages/shared/src/pod-protobuf.ts's own decoders (its
// field tables, the shaping as stripObject shapes) reading through an adapter over
// @bufbuild/protobuf's BinaryReader instead of its hand wire reader (class Reader). Kept in
// bench/ only: the measurement said not to adopt it (bench/results/2026-12-08-protobuf-reader.md).
import * as hand from '../../packages/shared/src/pod-protobuf.ts';
import {
  intern,
  ProtobufError,
  Reader as HandReader,
  type OpenReader,
  type WireReader,
} from '../../packages/shared/src/protobuf-wire.ts';

/**
 * The surface of @bufbuild/protobuf's BinaryReader this module uses (declared here so the bench
 * typechecks without the package installed; the class itself is handed in by useBinaryReader).
 */
export interface BinaryReaderLike {
  pos: number;
  readonly len: number;
  tag(): [number, number];
  skip(wireType: number): Uint8Array;
  uint32(): number;
  uint64(): bigint | string;
  string(): string;
}
export type BinaryReaderClass = new (buf: Uint8Array) => BinaryReaderLike;

let BinaryReader: BinaryReaderClass | undefined;

/** The BinaryReader class to decode with (the harness imports it where it finds it). */
export function useBinaryReader(cls: BinaryReaderClass): void {
  BinaryReader = cls;
}

/**
 * The hand reader's interface over one BinaryReader per answer: every Reader of a message shares
 * its cursor and keeps only the message's end (BinaryReader checks against the whole buffer).
 * A sub-message is read to its end before its parent reads on, as every caller here does.
 */
class Reader implements WireReader {
  readonly buf: Buffer;
  readonly br: BinaryReaderLike;
  readonly end: number;

  constructor(buf: Buffer, br: BinaryReaderLike, end: number) {
    this.buf = buf;
    this.br = br;
    this.end = end;
  }

  get more(): boolean {
    return this.br.pos < this.end;
  }

  private within(): void {
    if (this.br.pos > this.end) throw new ProtobufError('field runs past its message');
  }

  /** A varint as a number: BinaryReader's uint64, exact up to 2^53 as the hand reader's. */
  varint(): number {
    const v = Number(this.br.uint64());
    this.within();
    return v;
  }

  /** The [start, end) of a length-delimited field, the cursor moved past it. */
  span(): [number, number] {
    const len = this.br.uint32();
    const start = this.br.pos;
    if (start + len > this.end) throw new ProtobufError('length-delimited field runs past its message');
    this.br.pos = start + len;
    return [start, start + len];
  }

  /** The message at the cursor: read it to its end before this Reader reads on. */
  sub(): Reader {
    const len = this.br.uint32();
    const start = this.br.pos;
    if (start + len > this.end) throw new ProtobufError('length-delimited field runs past its message');
    return new Reader(this.buf, this.br, start + len);
  }

  string(): string {
    const s = this.br.string();
    this.within();
    return s;
  }

  /** A string many objects share (see intern). */
  sharedString(): string {
    return intern(this.string());
  }

  skip(wire: number): void {
    this.br.skip(wire);
    this.within();
  }

  /** The hand reader's own: it reads through this.fields. */
  bytesFields(on: Record<number, () => void>): void {
    HandReader.prototype.bytesFields.call(this as unknown as HandReader, on);
  }

  /** Calls `on(field, wire)` for each field; `on` reads the value or returns false to skip it. */
  fields(on: (field: number, wire: number) => boolean): void {
    while (this.br.pos < this.end) {
      const [field, wire] = this.br.tag();
      if (!on(field, wire)) this.skip(wire);
    }
    this.within();
  }
}

/** A reader over buf's [pos, end), on a BinaryReader of its own. */
const open: OpenReader = (buf, pos, end) => {
  if (!BinaryReader) throw new Error('useBinaryReader was not called');
  const br = new BinaryReader(buf);
  br.pos = pos;
  return new Reader(buf, br, end);
};

/** BinaryReader's own errors (a tag of field 0, a premature end) as the hand reader's ProtobufError. */
function wrapped<T>(decode: (buf: Buffer) => T): (buf: Buffer) => T {
  return (buf) => {
    try {
      return decode(buf);
    } catch (err) {
      if (err instanceof ProtobufError || !(err instanceof Error)) throw err;
      throw new ProtobufError(err.message);
    }
  };
}

/** The same signatures as pod-protobuf.ts's, its field tables read through BinaryReader. */
export const decodePodList = wrapped((buf) => hand.decodePodList(buf, open));
export const decodeStatus = wrapped((buf) => hand.decodeStatus(buf, open));
