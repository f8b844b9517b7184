// resourceVersions are opaque to clients in principle; in practice they are etcd revisions.
// We compare them only when both are integers, and otherwise let the newer-arriving one win.
export function isOlderOrSame(candidate: string, known: string): boolean {
  if (!/^\d+$/.test(candidate) || !/^\d+$/.test(known)) return false;
  return BigInt(candidate) <= BigInt(known);
}
