// Builds the pages' bundles: web/src/pages/<page>.js -> src/lfp/web/static/dist/<page>.js
// (and <page>.css for the styles a page imports). `make install` runs it when a source,
// the lockfile or this file changed; nothing it writes is committed.
import { build } from "esbuild";
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const pages = join(here, "src", "pages");
const out = join(here, "..", "src", "lfp", "web", "static", "dist");
// Built beside it and swapped in at the end: a running server never sees half a build.
const fresh = `${out}.new`;
const stale = `${out}.old`;

const entryPoints = (await readdir(pages))
  .filter((name) => name.endsWith(".js"))
  .map((name) => join(pages, name));

await rm(fresh, { recursive: true, force: true });
await mkdir(fresh, { recursive: true });
await build({
  entryPoints,
  outdir: fresh,
  bundle: true,
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  minify: true,
  sourcemap: true,
  target: ["es2022"],
  loader: { ".woff": "file", ".woff2": "file", ".svg": "file", ".png": "file" },
  logLevel: "warning",
  legalComments: "linked",
});
await writeFile(join(fresh, ".built"), new Date().toISOString() + "\n");
await rm(stale, { recursive: true, force: true });
await rename(out, stale).catch((error) => {
  if (error.code !== "ENOENT") throw error;
});
await rename(fresh, out);
await rm(stale, { recursive: true, force: true });
console.log(`built ${entryPoints.length} pages into ${out}`);
