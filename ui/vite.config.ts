import { defineConfig } from 'vitest/config';

// The station UI is a static bundle: `packbench serve` serves it at `/`, and the desktop shell
// embeds it (tauri.conf.json `frontendDist: "ui/dist"`). Relative asset paths work in both.
export default defineConfig({
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
