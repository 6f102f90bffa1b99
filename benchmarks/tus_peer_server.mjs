// A bare @tus/server with a FileStore: the peer benchmarks/peers.py measures lfp's tus
// endpoint beside. The packages come from the folder the benchmark installs them into
// ($PEERS_NODE), never from the project: they are no dependency of lfp.
//
// Usage: PEERS_NODE=benchmarks/.peers/node node benchmarks/tus_peer_server.mjs PORT DIR
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(`${process.env.PEERS_NODE}/`);
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);

const { Server } = await load("@tus/server");
const { FileStore } = await load("@tus/file-store");

const [port, directory] = process.argv.slice(2);
const server = new Server({ path: "/files", datastore: new FileStore({ directory }) });
server.listen({ host: "127.0.0.1", port: Number(port) }, () => {
  console.log(`@tus/server listening on 127.0.0.1:${port}, storing in ${directory}`);
});
