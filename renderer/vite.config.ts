// Builds the renderer into renderer/dist: a static bundle Electron loads with
// file:// (hence base './'), and the e2e test serves to Chromium.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Paths relative to this file without node:url (the renderer folder's lint forbids Node imports).
const here = (p: string): string => decodeURIComponent(new URL(p, import.meta.url).pathname);

const root = here('.');

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir: here('./dist'),
    emptyOutDir: true,
    // No inline scripts or styles: the CSP allows only 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: true,
  },
});
