import { isRouteErrorResponse, useRouteError } from 'react-router';
import { ErrorPanel } from './ErrorPanel';

/** The router's error element: a route that failed to load or render. */
export function RouteError() {
  const error = useRouteError();
  let message: string;
  if (isRouteErrorResponse(error)) {
    message = `${error.status} ${error.statusText}`;
  } else if (error instanceof Error) {
    message = error.message;
  } else {
    message = 'Unknown error';
  }
  return (
    <ErrorPanel
      title="This page failed to load"
      message={message}
      onRetry={() => window.location.reload()}
      retryLabel="Reload"
    />
  );
}
