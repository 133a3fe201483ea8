#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (dist/), building it first when it is missing or older than the sources.
const { ensureBuilt } = require('./ensure-built');

ensureBuilt();
require('../dist/src/cli.js').runCli(process.argv.slice(2));
