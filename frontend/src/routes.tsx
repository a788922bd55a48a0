import type { RouteObject } from 'react-router';
import { Layout } from './components/Layout';
import { RouteError } from './components/RouteError';

// Pages are loaded on demand so the first download stays small (budget:
// 300 KB gzip of initial JS); each page module default-exports its component.
export const routes: RouteObject[] = [
  {
    path: '/',
    Component: Layout,
    ErrorBoundary: RouteError,
    children: [
      {
        ErrorBoundary: RouteError,
        children: [
          { index: true, lazy: () => import('./pages/StatusPage').then((m) => ({ Component: m.default })) },
          { path: '*', lazy: () => import('./pages/NotFoundPage').then((m) => ({ Component: m.default })) },
        ],
      },
    ],
  },
];
