import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * Two apps, one build: the card-holder portal (web/index.html, served at /) and the staff console
 * (web/console/index.html, served at /console). Each page loads only its own entry and the chunks it
 * imports, so the portal never downloads the console's code. Output: web/dist (git-ignored).
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: resolve(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // No inline module-preload polyfill: the CSP allows no inline script (every target browser has it).
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        portal: resolve(import.meta.dirname, 'index.html'),
        console: resolve(import.meta.dirname, 'console/index.html'),
      },
    },
  },
});
