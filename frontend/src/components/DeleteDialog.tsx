import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { errorMessage } from '../api/errors';
import { useToast } from '../toast/context';
import { ErrorPanel } from './ErrorPanel';
import { ConfirmDialog } from './ui';

/**
 * A confirmation dialog that runs a delete: a toast and a refetch of `refresh`
 * on success, the server's refusal under `errorTitle` (the dialog stays open).
 */
export function DeleteDialog({
  title,
  confirmLabel,
  run,
  done,
  refresh,
  errorTitle,
  onClose,
  children,
}: {
  title: string;
  confirmLabel: string;
  run: () => Promise<unknown>;
  done: string;
  refresh: QueryKey;
  errorTitle: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const queryClient = useQueryClient();
  const toast = useToast();
  const [error, setError] = useState<string | null>(null);
  const remove = useMutation({
    mutationFn: run,
    onSuccess: async () => {
      toast.show({ kind: 'success', message: done });
      await queryClient.invalidateQueries({ queryKey: refresh });
      onClose();
    },
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <ConfirmDialog title={title} confirmLabel={confirmLabel} onConfirm={() => remove.mutate()} onCancel={onClose} busy={remove.isPending}>
      {children}
      {error ? <ErrorPanel title={errorTitle} message={error} /> : null}
    </ConfirmDialog>
  );
}
