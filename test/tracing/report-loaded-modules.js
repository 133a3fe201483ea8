'use strict';
// Preloaded into a spawned gateway (NODE_OPTIONS=--require): as it exits, it writes the files of
// every module it loaded to LOADED_MODULES_REPORT.
const { writeFileSync } = process.getBuiltinModule('node:fs');

process.on('exit', () => writeFileSync(process.env.LOADED_MODULES_REPORT, JSON.stringify(Object.keys(require.cache))));
