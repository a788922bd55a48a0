import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { useToast, type ToastInput } from './context';
import { ToastProvider } from './ToastProvider';

function Trigger({ toast, label }: { toast: ToastInput; label: string }) {
  const { show } = useToast();
  return (
    <button type="button" onClick={() => show(toast)}>
      {label}
    </button>
  );
}

function renderWith(toast: ToastInput) {
  const user = userEvent.setup();
  render(
    <ToastProvider>
      <Trigger toast={toast} label="go" />
    </ToastProvider>,
  );
  return { user, go: () => user.click(screen.getByRole('button', { name: 'go' })) };
}

describe('toasts', () => {
  it('announces an error as an alert', async () => {
    const error = renderWith({ kind: 'error', message: 'It broke', duration: 0 });
    await error.go();
    expect(screen.getByRole('alert')).toHaveTextContent('It broke');
  });

  it('goes away by itself after its duration', async () => {
    const { go } = renderWith({ kind: 'success', message: 'Saved', duration: 50 });
    await go();
    expect(screen.getByRole('status')).toHaveTextContent('Saved');
    await waitFor(() => {
      expect(screen.queryByText('Saved')).not.toBeInTheDocument();
    });
  });

  it('shows at most four at once, dropping the oldest', async () => {
    let n = 0;
    function Counter() {
      const { show } = useToast();
      return (
        <button type="button" onClick={() => show({ kind: 'info', message: `note ${++n}`, duration: 0 })}>
          add
        </button>
      );
    }
    const user = userEvent.setup();
    render(
      <ToastProvider>
        <Counter />
      </ToastProvider>,
    );
    for (let i = 0; i < 6; i++) await user.click(screen.getByRole('button', { name: 'add' }));
    const shown = screen.getAllByRole('status').map((el) => el.textContent);
    expect(shown).toEqual(['note 3', 'note 4', 'note 5', 'note 6']);
  });
});
