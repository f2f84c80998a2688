// Composes a supergraph with the reference composer (@apollo/composition).
// Input (stdin): {"subgraphs": [{"name": "...", "url": "...", "sdl": "..."}]}
// Output (stdout): the supergraph SDL. Composition errors go to stderr, exit code 1.
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const config = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const services = config.subgraphs.map((s) => ({
  name: s.name,
  url: s.url,
  typeDefs: parse(s.sdl),
}));
const result = composeServices(services);
if (result.errors && result.errors.length > 0) {
  for (const error of result.errors) console.error(error.message);
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);
if (!result.supergraphSdl.endsWith("\n")) process.stdout.write("\n");
