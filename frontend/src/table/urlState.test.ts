import { describe, expect, it } from 'vitest';
import { applyChange, apiParams, readTableState, toggleSort, writeTableState, type TableSpec } from './urlState';

const SPEC: TableSpec = { sorts: ['name', 'last_update'], defaultSort: 'name', filters: ['status', 'os'], defaultLimit: 50 };

describe('table state in the URL', () => {
  it('reads defaults from an empty URL', () => {
    expect(readTableState(new URLSearchParams(), SPEC)).toEqual({ page: 1, limit: 50, sort: 'name', order: 'asc', search: '', filters: {} });
  });

  it('reads every part, and ignores values the server would refuse', () => {
    const s = readTableState(new URLSearchParams('page=3&limit=100&sort=last_update&order=desc&search=web&status=active&other=x'), SPEC);
    expect(s).toEqual({ page: 3, limit: 100, sort: 'last_update', order: 'desc', search: 'web', filters: { status: 'active' } });
    const bad = readTableState(new URLSearchParams('page=-2&limit=7&sort=password&order=sideways'), SPEC);
    expect(bad).toMatchObject({ page: 1, limit: 50, sort: 'name', order: 'asc' });
  });

  it('writes only what differs from the defaults and keeps unrelated parameters', () => {
    const state = readTableState(new URLSearchParams('status=active&sort=last_update&order=desc&page=2'), SPEC);
    const out = writeTableState(state, SPEC, new URLSearchParams('tab=packages&status=pending'));
    expect(out.toString()).toBe('tab=packages&status=active&sort=last_update&order=desc&page=2');
    expect(writeTableState(readTableState(new URLSearchParams(), SPEC), SPEC).toString()).toBe('');
  });

  it('round-trips', () => {
    const url = 'search=db&status=inactive&os=Ubuntu&sort=last_update&order=desc&limit=200&page=4';
    expect(writeTableState(readTableState(new URLSearchParams(url), SPEC), SPEC).toString()).toBe(url);
  });

  it('goes back to page 1 when the search, a filter, the sort or the page size changes', () => {
    const s = readTableState(new URLSearchParams('page=5'), SPEC);
    expect(applyChange(s, { search: 'x' }).page).toBe(1);
    expect(applyChange(s, { filters: { os: 'Debian' } }).page).toBe(1);
    expect(applyChange(s, toggleSort(s, 'last_update')).page).toBe(1);
    expect(applyChange(s, { limit: 100 }).page).toBe(1);
    expect(applyChange(s, { page: 6 }).page).toBe(6);
  });

  it('drops a filter set to "any" (empty)', () => {
    const s = readTableState(new URLSearchParams('status=active&os=Debian'), SPEC);
    expect(applyChange(s, { filters: { status: '' } }).filters).toEqual({ os: 'Debian' });
  });

  it('flips the order when the sorted column is clicked again', () => {
    const s = readTableState(new URLSearchParams(), SPEC);
    expect(toggleSort(s, 'name')).toEqual({ order: 'desc' });
    expect(toggleSort(s, 'last_update')).toEqual({ sort: 'last_update', order: 'asc' });
  });

  it('turns the state into API parameters', () => {
    const s = readTableState(new URLSearchParams('search=web&status=active&page=2'), SPEC);
    expect(apiParams(s)).toEqual({ page: 2, limit: 50, sort: 'name', order: 'asc', search: 'web', status: 'active' });
  });
});
