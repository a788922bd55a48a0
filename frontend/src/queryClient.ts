import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './api/errors';

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 10_000,
        // Retry only what may heal by itself (no answer, 5xx); a 4xx will not.
        retry: (failureCount, error) => failureCount < 2 && (!(error instanceof ApiError) || error.isTransient),
      },
    },
  });
}
