#!/usr/bin/env node
// Thin launcher: the CLI is bundled by esbuild (npm ci runs the build through `prepare`).
'use strict';
const path = require('path');
const fs = require('fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('optiscope: the CLI is not built yet. Run `npm ci` (or `npm run build`) in the repository first.\n');
  process.exit(1);
}
require(cli);
