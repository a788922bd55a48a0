import { createContext, useContext } from 'react';
import type { Theme } from './theme';

export interface ThemeState {
  /** The theme in effect. */
  theme: Theme;
  /** `saved` when the user chose it, `system` when it follows prefers-color-scheme. */
  source: 'saved' | 'system';
  setTheme: (theme: Theme) => void;
  toggleTheme: () => void;
  followSystem: () => void;
}

export const ThemeContext = createContext<ThemeState | null>(null);

export function useTheme(): ThemeState {
  const state = useContext(ThemeContext);
  if (!state) throw new Error('useTheme must be used inside <ThemeProvider>');
  return state;
}
