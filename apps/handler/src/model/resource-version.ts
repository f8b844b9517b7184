// resourceVersions are opaque to clients in principle; in practice they are etcd revisions.
// We compare them only when both are integers, and otherwise let the newer-arriving one win.
export function isComparable(rv: string): boolean {
  return /^\d+$/.test(rv);
}

export function isOlderOrSame(candidate: string, known: string): boolean {
  if (!isComparable(candidate) || !isComparable(known)) return false;
  return BigInt(candidate) <= BigInt(known);
}
