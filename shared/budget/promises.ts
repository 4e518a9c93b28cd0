/**
 * Places in later buckets promised to jobs this process sent to wait (README "Waiting"): the next
 * job refused counts them as already taken, so a backlog returns spread over the buckets where room
 * opens instead of all in the first one. A job gives its place back when it reserves again.
 */
export class PromisedPlaces {
  /** Per connection: bucket -> places promised in it. */
  private readonly promised = new Map<string, Map<number, number>>();

  /** A job promised `bucket` is back (or no longer waits for it): its place is free again. */
  giveBack(connectionId: string, bucket: number, count: number): void {
    const map = this.promised.get(connectionId);
    const held = map?.get(bucket) ?? 0;
    if (held > count) map?.set(bucket, held - count);
    else map?.delete(bucket);
  }

  /**
   * The places promised for `connectionId` as of bucket `c` (buckets `bucketMs` long), to add to with
   * `promise`. A place is kept until its job comes back or, if the job went to another worker, until
   * well after it was due: SQS delays are whole seconds.
   */
  current(connectionId: string, c: number, bucketMs: number): ReadonlyMap<number, number> {
    let map = this.promised.get(connectionId);
    if (!map) {
      map = new Map();
      this.promised.set(connectionId, map);
    }
    const slack = Math.ceil(2000 / bucketMs) + 2;
    for (const b of map.keys()) if (b < c - slack) map.delete(b);
    return map;
  }

  promise(connectionId: string, bucket: number, count: number): void {
    const map = this.promised.get(connectionId) ?? new Map<number, number>();
    this.promised.set(connectionId, map);
    map.set(bucket, (map.get(bucket) ?? 0) + count);
  }
}
