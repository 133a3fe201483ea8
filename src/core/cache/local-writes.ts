import type { DataSource, EntitySubscriberInterface } from 'typeorm';
import type { AfterQueryEvent } from 'typeorm/subscriber/event/QueryEvent';
import type { Freshness } from './freshness';

/**
 * The local half of the freshness rule: a write this process commits invalidates its caches before
 * the call that committed it returns, so before the mutation's response is sent. Coarse on purpose
 * (any committed transaction, any statement outside one that is not a SELECT): writes are rare next
 * to credential checks, and telling the relevant ones apart from statement text would be fragile.
 * Other processes learn of the same write through the triggers' NOTIFY (invalidation-listener.ts).
 */
class LocalWriteInvalidation implements EntitySubscriberInterface {
  constructor(private readonly freshness: Freshness) {}

  afterTransactionCommit(): void {
    this.freshness.invalidate();
  }

  afterQuery(event: AfterQueryEvent): void {
    if (!event.success || event.queryRunner.isTransactionActive) return;
    const command = (event.rawResults as { command?: string } | undefined)?.command;
    if (command !== 'SELECT') this.freshness.invalidate();
  }
}

/** Subscribes after initialisation; the broadcaster reads the list on every event. */
export function invalidateOnLocalWrites(dataSource: DataSource, freshness: Freshness): void {
  dataSource.subscribers.push(new LocalWriteInvalidation(freshness));
}
