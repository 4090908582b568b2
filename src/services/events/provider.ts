/** EventBridge's operations, one module per resource. */
import type { EventsOperations } from '../../api/events/operations.js';
import { busOperations } from './buses.js';
import type { EventsDeps } from './common.js';
import { putEventsOperations } from './put-events.js';
import { ruleOperations } from './rules.js';
import { tagOperations } from './tags.js';
import { targetOperations } from './targets-api.js';

export function eventsOperations(deps: EventsDeps): Partial<EventsOperations> {
  return {
    ...busOperations(deps),
    ...ruleOperations(deps),
    ...targetOperations(deps),
    ...putEventsOperations(deps),
    ...tagOperations(deps),
  };
}
