// Bundles only (see infra/bundling/aliases.ts): `node:process` through the CommonJS loader.
module.exports = process.getBuiltinModule('node:process');
