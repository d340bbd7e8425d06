// The uploader is static files: index.html, one script, one stylesheet, with hashed names so a
// CDN may cache them for good; config.json beside them is written by whoever serves them.
import { defineConfig } from 'vite'

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // one bundle: the page is small, and a module preload list is one more thing CSP must allow
    modulePreload: false,
  },
  server: { port: 5173, strictPort: true },
})
