import type { ComponentType } from 'react';
import type { RouteObject } from 'react-router';
import type { Permission } from './api/model';
import { AuthedLayout, RequirePermission } from './auth/RequireAuth';
import { RouteError } from './components/RouteError';

// Pages are loaded on demand so the first download stays small (budget:
// 300 KB gzip of initial JS); each page module default-exports its component.
type PageModule = Promise<{ default: ComponentType }>;

function page(load: () => PageModule, permission?: Permission) {
  return async () => {
    const Page = (await load()).default;
    if (!permission) return { Component: Page };
    return {
      Component: function Guarded() {
        return (
          <RequirePermission permission={permission}>
            <Page />
          </RequirePermission>
        );
      },
    };
  };
}

export const routes: RouteObject[] = [
  { path: '/login', ErrorBoundary: RouteError, lazy: page(() => import('./pages/LoginPage')) },
  { path: '/setup', ErrorBoundary: RouteError, lazy: page(() => import('./pages/SetupPage')) },
  {
    path: '/',
    Component: AuthedLayout,
    ErrorBoundary: RouteError,
    children: [
      {
        ErrorBoundary: RouteError,
        children: [
          { index: true, lazy: page(() => import('./pages/DashboardPage'), 'can_view_dashboard') },
          { path: 'hosts', lazy: page(() => import('./pages/HostsPage'), 'can_view_hosts') },
          { path: 'hosts/new', lazy: page(() => import('./pages/AddHostPage'), 'can_manage_hosts') },
          { path: 'hosts/:hostId', lazy: page(() => import('./pages/HostDetailPage'), 'can_view_hosts') },
          { path: 'host-groups', lazy: page(() => import('./pages/HostGroupsPage'), 'can_view_hosts') },
          { path: 'packages', lazy: page(() => import('./pages/PackagesPage'), 'can_view_packages') },
          { path: 'packages/:packageId', lazy: page(() => import('./pages/PackageDetailPage'), 'can_view_packages') },
          { path: 'repositories', lazy: page(() => import('./pages/RepositoriesPage'), 'can_view_hosts') },
          { path: 'repositories/:repositoryId', lazy: page(() => import('./pages/RepositoryDetailPage'), 'can_view_hosts') },
          { path: 'alerts', lazy: page(() => import('./pages/AlertsPage'), 'can_manage_alerts') },
          { path: 'notifications', lazy: page(() => import('./pages/NotificationsPage'), 'can_manage_notifications') },
          { path: 'queues', lazy: page(() => import('./pages/QueuesPage'), 'can_manage_settings') },
          { path: 'users', lazy: page(() => import('./pages/UsersPage'), 'can_view_users') },
          { path: 'roles', lazy: page(() => import('./pages/RolesPage'), 'can_manage_settings') },
          { path: 'settings', lazy: page(() => import('./pages/SettingsPage'), 'can_manage_settings') },
          { path: 'settings/integrations', lazy: page(() => import('./pages/IntegrationsPage'), 'can_manage_settings') },
          { path: 'profile', lazy: page(() => import('./pages/ProfilePage')) },
          { path: 'status', lazy: page(() => import('./pages/StatusPage')) },
          { path: '*', lazy: page(() => import('./pages/NotFoundPage')) },
        ],
      },
    ],
  },
];
