// Uploads one file with tus-js-client in Node (one stream of chunkSize PATCHes, read from
// the file), to any tus endpoint; prints {"url", "fileId"} as JSON once the upload has
// succeeded. fileId is lfp's `Lfp-File-Id` response header (null from other servers).
// benchmarks/peers.py runs it against @tus/server and against lfp's tus endpoint.
//
// Usage: PEERS_NODE=benchmarks/.peers/node [TUS_TOKEN=...] [TUS_CHUNK_MIB=8] \
//          node benchmarks/tus_upload.mjs ENDPOINT FILE
import { createReadStream } from "node:fs";
import { basename } from "node:path";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(`${process.env.PEERS_NODE}/`);
const tus = await import(pathToFileURL(require.resolve("tus-js-client")).href);
const Upload = tus.Upload ?? tus.default.Upload;

const [endpoint, path] = process.argv.slice(2);
const headers = process.env.TUS_TOKEN ? { Authorization: `Bearer ${process.env.TUS_TOKEN}` } : {};
let fileId = null;

const upload = new Upload(createReadStream(path), {
  endpoint,
  headers,
  chunkSize: Number(process.env.TUS_CHUNK_MIB ?? 8) * 1024 * 1024,
  metadata: { filename: basename(path) },
  // A benchmark run should fail loudly, not retry its way to a slower figure.
  retryDelays: null,
  onAfterResponse(_request, response) {
    fileId = response.getHeader("Lfp-File-Id") ?? fileId;
  },
  onError(error) {
    console.error(`tus upload failed: ${error}`);
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url, fileId }));
  },
});
upload.start();
