// Component tests: jsdom + Testing Library, run by test/run-all.mjs with
// `vitest run --config renderer/vitest.config.ts`.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// Paths relative to this file without node:url (the renderer folder's lint forbids Node imports).
const here = (p: string): string => decodeURIComponent(new URL(p, import.meta.url).pathname);

export default defineConfig({
  root: here('.'),
  plugins: [react()],
  test: {
    environment: 'jsdom',
    include: ['test/**/*.test.{ts,tsx}'],
    setupFiles: ['test/setup.ts'],
    css: false,
  },
});
