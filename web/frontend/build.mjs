// Copy the browser-ready files of our npm packages into web/static/vendor/ (gitignored).
// No bundler: each file is already minified by its package; the pages load them with <script defer>.
// axe-core is not copied: only the accessibility tests use it, reading it from node_modules, so users never get it.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "..", "static", "vendor");

// file under node_modules -> name served at /static/vendor/<name>
const FILES = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
};

rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
for (const [source, target] of Object.entries(FILES)) {
  copyFileSync(join(here, "node_modules", source), join(vendor, target));
  console.log(`web/static/vendor/${target} <- ${source}`);
}
