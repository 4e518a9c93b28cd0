import type { Connection } from '#shared/connections/model.ts';
import type { ConnectionStore } from '#shared/connections/store.ts';

/**
 * A warm worker reads each connection's settings at most every `ttlMs`, so settings changes reach
 * running workers within that time without one extra read per job.
 */
export class CachedConnections {
  private readonly cache = new Map<string, { at: number; value: Connection | undefined }>();

  constructor(
    private readonly store: ConnectionStore,
    private readonly ttlMs = 30_000,
    private readonly missingTtlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(connectionId: string): Promise<Connection | undefined> {
    const hit = this.cache.get(connectionId);
    const age = hit ? this.now() - hit.at : Number.POSITIVE_INFINITY;
    if (hit && age < (hit.value ? this.ttlMs : this.missingTtlMs)) return hit.value;
    const value = await this.store.get(connectionId);
    this.cache.set(connectionId, { at: this.now(), value });
    return value;
  }

  async cacheZone(connectionId: string, zoneUrl: string): Promise<void> {
    await this.store.cacheZone(connectionId, zoneUrl);
    const hit = this.cache.get(connectionId);
    if (hit?.value) hit.value = { ...hit.value, zoneUrl };
  }

  invalidate(connectionId?: string): void {
    if (connectionId) this.cache.delete(connectionId);
    else this.cache.clear();
  }
}
