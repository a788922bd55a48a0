import { createContext, useContext } from 'react';

export type ToastKind = 'success' | 'error' | 'info';

export interface ToastInput {
  kind: ToastKind;
  message: string;
  /** Milliseconds before it goes away by itself; errors default to longer. 0 keeps it until dismissed. */
  duration?: number;
}

export interface Toast extends Required<ToastInput> {
  id: number;
}

export interface ToastApi {
  /** Shows a toast and returns its id. */
  show: (toast: ToastInput) => number;
  dismiss: (id: number) => void;
}

export const ToastContext = createContext<ToastApi | null>(null);

export function useToast(): ToastApi {
  const api = useContext(ToastContext);
  if (!api) throw new Error('useToast must be used inside <ToastProvider>');
  return api;
}
