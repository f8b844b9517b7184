// Which watcher list last named each object, for that list's SYNCED marker: the objects of its
// scope no job of the list marked (and older than the list) were deleted meanwhile. A marker is
// trusted only if every job of its list reached this state before it and no other list still
// open took one of its marks since (see Store.applySync).

/** An object a list can mark. */
export interface Marked {
  listedIn?: string | undefined;
}

interface OpenList {
  /** The id as first seen: the one string every object this list marks shares. */
  id: string;
  applied: number;
  taken: number;
}

/** Lists whose SYNCED is awaited, at most (a few bytes each). */
const OPEN_LISTS_MAX = 50_000;

export class ListMarks {
  private readonly open = new Map<string, OpenList>();

  /**
   * A job of list `list` reached the state (valid or not); `held` is what it left there under
   * its key, marked as named by that list.
   */
  named(list: string, held: Marked | undefined): void {
    const open = this.open.get(list) ?? this.opened(list);
    open.applied++;
    if (!held || held.listedIn === open.id) return;
    // Another list still open named it last: that list's SYNCED can no longer tell it from a gone one.
    const other = held.listedIn === undefined ? undefined : this.open.get(held.listedIn);
    if (other) other.taken++;
    held.listedIn = open.id;
  }

  /** The SYNCED of `list`, which returned `count` objects: why it cannot be trusted, if so. The list is closed. */
  close(list: string, count: number | undefined): string | undefined {
    const open = this.open.get(list) ?? { id: list, applied: 0, taken: 0 };
    this.open.delete(list);
    // Its jobs went elsewhere (this handler started half-way through the list), came after it
    // (a job retried), or another list took some of their marks (two lists of one scope
    // interleaved): removing the unmarked would remove objects that exist.
    if (open.applied === count && open.taken === 0) return undefined;
    return `list ${list}: ${open.applied} of its ${String(count)} objects applied before its end, ${open.taken} since named by another list`;
  }

  private opened(list: string): OpenList {
    // A list whose SYNCED never comes (its watcher died half-way) is forgotten once OPEN_LISTS_MAX
    // newer ones opened: far more than can be in flight at once (one per watcher and namespace).
    if (this.open.size >= OPEN_LISTS_MAX) this.open.delete(this.open.keys().next().value as string);
    const open = { id: list, applied: 0, taken: 0 };
    this.open.set(list, open);
    return open;
  }
}
