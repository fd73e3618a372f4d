#!/usr/bin/env node
// The vultr-sid-iso executable: the environment goes in here, the exit code comes out.
import { main } from './cli.js';

process.exitCode = await main(process.argv, process.env);
