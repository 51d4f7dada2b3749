// Imported first by dump-program.ts, before @pulumi/pulumi. Loading the SDK loads `typescript` and
// `@npmcli/arborist` with it (runtime/index.ts re-exports serializeFunction and computeCodePaths, whose modules
// import them: sdk/nodejs/runtime/closure/parseFunction.ts via typescript-shim, closure/codePaths.ts, v3.248.0):
// about half a second of CPU in every program run, a third of it. Only function serialization and dynamic providers
// use them, and the program has neither; so they are stood in by a module whose every use throws, saying why.
import { Module } from "node:module";
import * as path from "node:path";

const sdkDir = path.dirname(require.resolve("@pulumi/pulumi"));
for (const name of ["typescript", "@npmcli/arborist"]) {
  const file = require.resolve(name, { paths: [sdkDir] });
  const refuse = (what: PropertyKey) => {
    throw new Error(`${name}.${String(what)}: not loaded in the program tests (test/program/support/closure-deps-stub.ts); the program must not serialize functions`);
  };
  // `__esModule` and symbols are read by the compiled imports themselves (__importStar), not by a use of the module.
  const exports = new Proxy({}, { get: (_, p) => (p === "__esModule" || typeof p === "symbol" ? undefined : refuse(p)) });
  const stub = new Module(file);
  Object.assign(stub, { filename: file, loaded: true, exports });
  require.cache[file] = stub;
}
