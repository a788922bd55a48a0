import { Link, useLocation } from 'react-router';

export default function NotFoundPage() {
  const { pathname } = useLocation();
  return (
    <section aria-labelledby="not-found-heading" className="mx-auto max-w-xl py-12 text-center">
      <title>Not found · PatchMon</title>
      <p className="text-sm font-semibold text-blue-600 dark:text-blue-400">404</p>
      <h1 id="not-found-heading" className="mt-2 text-3xl font-semibold tracking-tight">
        Not found
      </h1>
      <p className="mt-3 text-slate-600 dark:text-slate-400">
        There is no page at <code className="rounded bg-slate-200 px-1.5 py-0.5 text-sm dark:bg-slate-800">{pathname}</code>.
      </p>
      <Link
        to="/"
        className="mt-6 inline-block rounded-md bg-blue-600 px-4 py-2 text-sm font-medium text-white hover:bg-blue-700 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600"
      >
        Go to the dashboard
      </Link>
    </section>
  );
}
