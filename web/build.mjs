// Builds one ES-module bundle per page (src/pages/*.js) into static/dist/, sharing chunks between
// pages, so a grid worker's phone loads the inbox without the BPMN modeler.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';

const pages = readdirSync('src/pages').filter((name) => name.endsWith('.js')).map((name) => `src/pages/${name}`);

rmSync('static/dist', { recursive: true, force: true }); // no stale chunks left behind

await build({
  entryPoints: pages,
  outdir: 'static/dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  logLevel: 'warning',
  chunkNames: 'chunks/[name]-[hash]',
  assetNames: 'assets/[name]-[hash]',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  // the properties panel's hooks only work with its own preact copy
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
});
console.log(`built ${pages.length} pages into static/dist`);
