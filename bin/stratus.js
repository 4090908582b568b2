#!/usr/bin/env node
// The `stratus` command: runs the compiled server (npm run build first).
import { main } from '../dist/src/cli.js';

await main(process.argv.slice(2));
