import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';

import { VirtualList } from '../src/components/VirtualList.js';
import { filterLogs } from '../src/features/logs/filter.js';
import { logRecord } from './fake-api.js';

const items = Array.from({ length: 100_000 }, (_, i) => i);

describe('VirtualList', () => {
  it('renders a window of rows, not all 100,000', () => {
    render(<VirtualList items={items} rowRem={1.75} rowKey={(i) => i} renderRow={(i) => <span>row {i}</span>} label="Numbers" />);
    const list = screen.getByRole('list', { name: 'Numbers' });
    const rendered = Number(list.getAttribute('data-rendered-rows'));
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(100);
    expect(screen.getAllByRole('listitem').length).toBe(rendered);
    expect(screen.getByText('row 0')).toBeInTheDocument();
    expect(screen.queryByText('row 99999')).toBeNull();
    // The spacer keeps the scroll height of every row.
    expect((list.firstElementChild as HTMLElement).style.height).toBe(`${100_000 * 1.75 * 16}px`);
  });

  it('is keyboard accessible: End jumps to the last row, which is then rendered and active', () => {
    render(<VirtualList items={items} rowRem={1.75} rowKey={(i) => i} renderRow={(i) => <span>row {i}</span>} label="Numbers" />);
    const list = screen.getByRole('list', { name: 'Numbers' });
    list.focus();
    fireEvent.keyDown(list, { key: 'End' });
    fireEvent.scroll(list);
    expect(list.getAttribute('aria-activedescendant')).toBe('vl-row-99999');
    const last = screen.getByText('row 99999').parentElement as HTMLElement;
    expect(last.getAttribute('aria-posinset')).toBe('100000');
    expect(last.className).toContain('active');
    fireEvent.keyDown(list, { key: 'ArrowUp' });
    expect(list.getAttribute('aria-activedescendant')).toBe('vl-row-99998');
  });
});

describe('filterLogs', () => {
  const records = Array.from({ length: 100_000 }, (_, i) =>
    logRecord(i, { level: i % 10 === 0 ? 'error' : i % 3 === 0 ? 'debug' : 'info', message: i % 1000 === 0 ? `EAP round ${i}` : `packet ${i}`, session: i < 50_000 ? 'aaaaaaaa-0000-4000-8000-000000000001' : 'aaaaaaaa-0000-4000-8000-000000000002' }),
  );

  it('filters 100,000 records by level, session and text, fast enough to type into', () => {
    const t0 = performance.now();
    const errors = filterLogs(records, { level: 'error', session: '', text: '' });
    const eapInSecond = filterLogs(records, { level: 'debug', session: 'aaaaaaaa-0000-4000-8000-000000000002', text: 'eap' });
    const ms = performance.now() - t0;
    expect(errors.length).toBe(10_000);
    expect(errors.every((r) => r.level === 'error')).toBe(true);
    expect(eapInSecond.length).toBe(50);
    expect(eapInSecond.every((r) => r.message.startsWith('EAP round') && r.seq >= 50_000)).toBe(true);
    expect(ms).toBeLessThan(500);
  });

  it('returns the same array when nothing is filtered (no copy of 100,000 records)', () => {
    expect(filterLogs(records, { level: 'debug', session: '', text: ' ' })).toBe(records);
  });
});
