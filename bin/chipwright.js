#!/usr/bin/env node
// Bootstrap only: the CLI lives in src/cli/main.ts (built to dist/).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv);
