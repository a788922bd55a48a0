import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { HEALTH_OK, json, stubFetch } from './test/fetch';
import { renderApp } from './test/renderApp';

describe('routes', () => {
  it('shows Not found for an unknown path, with a way back', async () => {
    stubFetch(() => json(HEALTH_OK));
    const { user, router } = renderApp('/no/such/page');
    expect(await screen.findByRole('heading', { name: 'Not found' })).toBeInTheDocument();
    expect(screen.getByText('/no/such/page')).toBeInTheDocument();

    await user.click(screen.getByRole('link', { name: 'Go to server status' }));
    expect(await screen.findByRole('heading', { name: 'Server status' })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe('/');
  });

  it('marks the current page in the navigation', async () => {
    stubFetch(() => json(HEALTH_OK));
    renderApp('/');
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(nav.querySelector('[aria-current="page"]')).toHaveTextContent('Status');
  });
});
