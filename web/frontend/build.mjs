// Build the browser files of our npm packages into web/static/vendor/ (gitignored, never committed).
// - Files already minified by their package are copied as they are (htmx).
// - The analyst studio's BPMN editor and read-only viewer (studio/*.js: bpmn-js, its properties panel,
//   our moddle extension and provider) are bundled by esbuild into one minified ES2020 script each,
//   and their styles (bpmn-js, diagram-js, the bpmn icon font, the properties panel, ours) into
//   vendor/studio/*.css with the font files beside them. No eval and no inline script in the output:
//   the pages' CSP allows scripts from 'self' only.
// - The report dashboard's charts (reports/charts.js: Chart.js) are bundled the same way.
// axe-core is not copied: only the accessibility tests use it, reading it from node_modules, so users never get it.
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "static", "vendor");

// file under node_modules -> name served at /static/vendor/<name>
const FILES = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
};

// bundle entry under web/frontend -> file under web/static/vendor
const BUNDLES = {
  "studio/editor.js": "studio-editor.js",
  "studio/viewer.js": "studio-viewer.js",
  "studio/css/editor.css": "studio/studio-editor.css",
  "studio/css/viewer.css": "studio/studio-viewer.css",
  "reports/charts.js": "reports-charts.js",
};

rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
for (const [source, target] of Object.entries(FILES)) {
  copyFileSync(join(here, "node_modules", source), join(vendor, target));
  console.log(`web/static/vendor/${target} <- ${source}`);
}

for (const [source, target] of Object.entries(BUNDLES)) {
  const outfile = join(vendor, target);
  await build({
    entryPoints: [join(here, source)],
    outfile,
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "linked",  // the packages' licence texts in a .LEGAL.txt beside the bundle
    // the bpmn icon font: every format bpmn.css names, copied beside the CSS (fonts/ under vendor/studio)
    loader: { ".woff2": "file", ".woff": "file", ".ttf": "file", ".eot": "file", ".svg": "file" },
    assetNames: "fonts/[name]-[hash]",
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
  const bytes = statSync(outfile).size;
  const gzipped = gzipSync(readFileSync(outfile), { level: 6 }).length;
  console.log(`web/static/vendor/${target} <- ${relative(here, join(here, source))} `
    + `(${(bytes / 1024).toFixed(0)} KB, ${(gzipped / 1024).toFixed(0)} KB gzip)`);
}
