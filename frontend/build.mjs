// Builds safehub's front-end assets into src/safehub/web/static/safehub/.
//
//   npm ci && npm run build
//
// 1. Compiles src/safehub/web/scss/safehub.scss (GOV.UK Frontend with Arial,
//    assets under /static/safehub/assets/) to safehub.css, compressed.
// 2. Copies GOV.UK Frontend's JavaScript module and its images (no fonts:
//    safehub does not use the GOV.UK typeface).
// 3. Checks the CSS: no GDS Transport, no @font-face, no asset URL outside
//    /static/safehub/. A failed check exits non-zero so `make` stops.
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const out = join(root, "src", "safehub", "web", "static", "safehub");
const entry = join(root, "src", "safehub", "web", "scss", "safehub.scss");

// Start from empty so a file dropped upstream does not linger here.
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });

const { css } = sass.compile(entry, {
  style: "compressed",
  importers: [new sass.NodePackageImporter(root)],
  // GOV.UK Frontend's own deprecation notices are not ours to fix.
  quietDeps: true,
});

const problems = [];
if (/GDS Transport/i.test(css)) problems.push("mentions GDS Transport");
if (/@font-face/i.test(css)) problems.push("contains @font-face");
for (const [, url] of css.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
  if (url.startsWith("data:")) continue;
  if (!url.startsWith("/static/safehub/")) problems.push(`url outside /static/safehub/: ${url}`);
  if (/\/fonts\//.test(url)) problems.push(`font url: ${url}`);
}
if (problems.length) {
  console.error(`safehub.css failed its checks:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
writeFileSync(join(out, "safehub.css"), css);

// The source map goes too: the JS ends with a sourceMappingURL comment, and
// Django's ManifestStaticFilesStorage (collectstatic in production) refuses a
// reference to a file that does not exist.
for (const name of ["govuk-frontend.min.js", "govuk-frontend.min.js.map"]) {
  cpSync(join(govuk, name), join(out, name));
}
cpSync(join(govuk, "assets", "images"), join(out, "assets", "images"), { recursive: true });
cpSync(join(govuk, "assets", "manifest.json"), join(out, "assets", "manifest.json"));

console.log(`built ${relative(root, out)}/: safehub.css (${css.length} bytes), govuk-frontend.min.js(.map), assets/images, assets/manifest.json`);
