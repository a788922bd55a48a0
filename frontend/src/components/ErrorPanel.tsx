interface Props {
  title: string;
  message: string;
  /** Extra detail, such as the error code, shown in small print. */
  detail?: string;
  onRetry?: () => void;
  retryLabel?: string;
}

export function ErrorPanel({ title, message, detail, onRetry, retryLabel = 'Try again' }: Props) {
  return (
    <div role="alert" className="rounded-lg border border-red-300 bg-red-50 p-4 text-red-900 dark:border-red-800 dark:bg-red-950/60 dark:text-red-100">
      <h2 className="font-semibold">{title}</h2>
      <p className="mt-1 text-sm">{message}</p>
      {detail ? <p className="mt-1 font-mono text-xs opacity-80">{detail}</p> : null}
      {onRetry ? (
        <button
          type="button"
          onClick={onRetry}
          className="mt-3 rounded-md bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-red-700"
        >
          {retryLabel}
        </button>
      ) : null}
    </div>
  );
}
