import { useCallback, useLayoutEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from 'react';
import { ThemeContext, type ThemeState } from './context';
import {
  applyTheme,
  forgetSavedTheme,
  readSavedTheme,
  saveTheme,
  subscribeToSystemTheme,
  systemPrefersDark,
  type Theme,
} from './theme';

export function ThemeProvider({ children }: { children: ReactNode }) {
  const [saved, setSaved] = useState<Theme | null>(readSavedTheme);
  const systemDark = useSyncExternalStore(subscribeToSystemTheme, systemPrefersDark, () => false);
  const theme: Theme = saved ?? (systemDark ? 'dark' : 'light');

  useLayoutEffect(() => {
    applyTheme(theme);
  }, [theme]);

  const setTheme = useCallback((next: Theme) => {
    saveTheme(next);
    setSaved(next);
  }, []);

  const followSystem = useCallback(() => {
    forgetSavedTheme();
    setSaved(null);
  }, []);

  const value = useMemo<ThemeState>(
    () => ({
      theme,
      source: saved ? 'saved' : 'system',
      setTheme,
      toggleTheme: () => setTheme(theme === 'dark' ? 'light' : 'dark'),
      followSystem,
    }),
    [theme, saved, setTheme, followSystem],
  );

  return <ThemeContext value={value}>{children}</ThemeContext>;
}
