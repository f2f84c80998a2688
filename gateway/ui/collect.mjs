// Copies the prebuilt browser files of the pinned packages (package-lock.json) into the folder
// the gateway serves, gateway/src/gateway/web_ui/ unless a folder is named:
//   node collect.mjs [out-dir]
// The copy is made beside the target and renamed into place, so a gateway that is running
// never serves half a set. VERSIONS.json records what was copied.
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] ?? join(here, "..", "src", "gateway", "web_ui"));
const modules = join(here, "node_modules");

// [package, file in the package, where it goes under out/]
const FILES = [
  ["graphiql", "graphiql.min.js", "graphiql/graphiql.min.js"],
  ["graphiql", "graphiql.min.css", "graphiql/graphiql.min.css"],
  ["graphiql", "LICENSE", "graphiql/LICENSE.graphiql"],
  ["@graphiql/plugin-explorer", "dist/index.umd.js", "graphiql/plugin-explorer.umd.js"],
  ["@graphiql/plugin-explorer", "dist/style.css", "graphiql/plugin-explorer.css"],
  ["react", "umd/react.production.min.js", "graphiql/react.production.min.js"],
  ["react", "LICENSE", "graphiql/LICENSE.react"],
  ["react-dom", "umd/react-dom.production.min.js", "graphiql/react-dom.production.min.js"],
  ["swagger-ui-dist", "swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist", "swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist", "favicon-32x32.png", "swagger-ui/favicon-32x32.png"],
  ["swagger-ui-dist", "LICENSE", "swagger-ui/LICENSE.swagger-ui"],
];
// Ours, not a package's: mounts GraphiQL on this gateway.
const OWN = [["playground.js", "graphiql/playground.js"]];

const staging = `${out}.new`;
rmSync(staging, { recursive: true, force: true });
const versions = {};
for (const [pkg, file, target] of FILES) {
  const source = join(modules, pkg, file);
  if (!existsSync(source)) {
    console.error(`collect.mjs: ${pkg} has no ${file}; run npm ci in gateway/ui first`);
    process.exit(1);
  }
  mkdirSync(dirname(join(staging, target)), { recursive: true });
  cpSync(source, join(staging, target));
  versions[pkg] = JSON.parse(readFileSync(join(modules, pkg, "package.json"), "utf8")).version;
}
for (const [file, target] of OWN) {
  cpSync(join(here, file), join(staging, target));
}
writeFileSync(join(staging, "VERSIONS.json"), JSON.stringify(versions, null, 2) + "\n");
rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
console.log(`web UI files in ${out}: ${Object.entries(versions).map(([p, v]) => `${p}@${v}`).join(", ")}`);
