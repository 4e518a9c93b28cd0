// Bundles only (see infra/bundling/aliases.ts): `node:http` through the CommonJS loader.
module.exports = process.getBuiltinModule('node:http');
