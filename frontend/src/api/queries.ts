import { queryOptions } from '@tanstack/react-query';
import { getHealth } from './health';

/** How often the status page re-reads /health while it is open. */
export const HEALTH_REFRESH_MS = 15_000;

export const healthQuery = queryOptions({
  queryKey: ['health'],
  queryFn: ({ signal }) => getHealth(signal),
  refetchInterval: HEALTH_REFRESH_MS,
  // A status page shows the current answer; retrying would hide an outage for seconds.
  retry: false,
});
