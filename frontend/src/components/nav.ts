import type { Permission, Profile } from '../api/model';

export interface NavItem {
  to: string;
  label: string;
  /** The permission the page needs; entries without one show to every signed-in user. */
  permission?: Permission;
}

/** Main navigation, in order. Each entry needs the same permission as the API behind its page. */
export const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard', permission: 'can_view_dashboard' },
  { to: '/hosts', label: 'Hosts', permission: 'can_view_hosts' },
  { to: '/host-groups', label: 'Host groups', permission: 'can_view_hosts' },
  { to: '/packages', label: 'Packages', permission: 'can_view_packages' },
  { to: '/repositories', label: 'Repositories', permission: 'can_view_hosts' },
  { to: '/alerts', label: 'Alerts', permission: 'can_manage_alerts' },
  { to: '/notifications', label: 'Notifications', permission: 'can_manage_notifications' },
  { to: '/queues', label: 'Queues', permission: 'can_manage_settings' },
  { to: '/users', label: 'Users', permission: 'can_view_users' },
  { to: '/roles', label: 'Roles', permission: 'can_manage_settings' },
  { to: '/settings', label: 'Settings', permission: 'can_manage_settings' },
  { to: '/settings/integrations', label: 'Integrations', permission: 'can_manage_settings' },
  { to: '/status', label: 'Server status' },
];

/** The entries `me` may use. */
export function visibleNav(me: Pick<Profile, 'permissions'>): NavItem[] {
  return NAV.filter((item) => !item.permission || me.permissions[item.permission]);
}
