import { screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { deferred, HEALTH_DB_DOWN, HEALTH_OK, json, stubFetch, withSession } from '../test/fetch';
import { renderApp } from '../test/renderApp';

/** The value shown under a field label on the status page. */
function field(label: string): HTMLElement {
  const term = screen.getByText(label, { selector: 'dt' });
  const value = term.nextElementSibling;
  if (!(value instanceof HTMLElement)) throw new Error(`no value for ${label}`);
  return value;
}

describe('Server status page', () => {
  it('shows the fields of /health', async () => {
    const fetchSpy = stubFetch(withSession(() => json(HEALTH_OK)));
    renderApp('/status');
    expect(await screen.findByRole('heading', { name: 'Server status' })).toBeInTheDocument();
    await screen.findByText('Version', { selector: 'dt' });
    expect(field('Status')).toHaveTextContent('ok');
    expect(field('Database')).toHaveTextContent('ok');
    expect(field('Dialect')).toHaveTextContent('sqlite');
    expect(field('Version')).toHaveTextContent('0.1.0');
    expect(field('Agents connected')).toHaveTextContent('3');
    expect(fetchSpy).toHaveBeenCalledWith('/health', expect.objectContaining({ method: 'GET' }));
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('shows a loading state until the answer arrives', async () => {
    const pending = deferred<Response>();
    stubFetch(withSession(() => pending.promise));
    renderApp('/status');
    expect(await screen.findByText('Loading server status…')).toBeInTheDocument();
    expect(screen.queryByText('Dialect', { selector: 'dt' })).not.toBeInTheDocument();

    pending.resolve(json(HEALTH_OK));
    expect(await screen.findByText('Dialect', { selector: 'dt' })).toBeInTheDocument();
    expect(screen.queryByText('Loading server status…')).not.toBeInTheDocument();
  });

  it('explains a 503 (database unreachable) with its code', async () => {
    stubFetch(withSession(() => json(HEALTH_DB_DOWN, 503)));
    renderApp('/status');
    const alert = await screen.findByRole('alert');
    expect(within(alert).getByRole('heading')).toHaveTextContent('The server cannot reach its database');
    expect(alert).toHaveTextContent('Database unreachable');
    expect(alert).toHaveTextContent('unavailable · HTTP 503');
    expect(screen.queryByText('Dialect', { selector: 'dt' })).not.toBeInTheDocument();
  });

  it('says so when the server cannot be reached, and recovers on retry', async () => {
    let up = false;
    stubFetch(withSession(() => (up ? json(HEALTH_OK) : Promise.reject(new TypeError('Failed to fetch')))));
    const { user } = renderApp('/status');
    const alert = await screen.findByRole('alert');
    expect(within(alert).getByRole('heading')).toHaveTextContent('Could not reach the server');
    expect(alert).toHaveTextContent('The server may be stopped or restarting');
    expect(alert).toHaveTextContent('network_error');

    up = true;
    await user.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('Dialect', { selector: 'dt' })).toBeInTheDocument();
    expect(field('Dialect')).toHaveTextContent('sqlite');
    await waitFor(() => {
      expect(screen.queryByText('Could not reach the server')).not.toBeInTheDocument();
    });
    // The refresh is confirmed by a toast, which can be dismissed.
    const toast = await screen.findByText('Server status refreshed');
    await user.click(screen.getByRole('button', { name: 'Dismiss notification' }));
    expect(toast).not.toBeInTheDocument();
  });

  it('keeps the last good answer visible when a refresh fails, and toasts the failure', async () => {
    let calls = 0;
    stubFetch(withSession(() => (++calls === 1 ? json(HEALTH_OK) : json(HEALTH_DB_DOWN, 503))));
    const { user } = renderApp('/status');
    await screen.findByText('Dialect', { selector: 'dt' });

    await user.click(screen.getByRole('button', { name: 'Refresh' }));
    const toast = await screen.findByText('Status check failed: Database unreachable');
    expect(toast.closest('[role="alert"]')).not.toBeNull();
    expect(screen.getByText(/^Last successful check at/)).toBeInTheDocument();
    expect(field('Version')).toHaveTextContent('0.1.0');
  });
});
