// Runs before the app bundle: applies the saved theme, or the system's when
// none is saved, so the first paint already has the right colours.
// Keep the storage key and values in sync with src/theme/theme.ts.
(function () {
  var theme = null;
  try {
    theme = window.localStorage.getItem('patchmon.theme');
  } catch {
    // Storage can be disabled; fall back to the system preference.
  }
  if (theme !== 'light' && theme !== 'dark') {
    theme = window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }
  var root = document.documentElement;
  root.classList.toggle('dark', theme === 'dark');
  root.style.colorScheme = theme;
})();
