#!/usr/bin/env node
// The `damson` command runs the compiled server (npm install builds it into dist/).
import '../dist/main.js';
