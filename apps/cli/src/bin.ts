#!/usr/bin/env node
/**
 * The `kmm` executable.
 */
import { main } from "./Cli.js"

void main(process.argv)
