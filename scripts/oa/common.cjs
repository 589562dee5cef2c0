"use strict";
// Shared helpers for the OpenAttestation node scripts (CommonJS, run with node >= 18).

/** Require a package from the project's node_modules, or exit 3 with a clear message. */
function need(name) {
  try {
    return require(name);
  } catch (err) {
    if (err && err.code === "MODULE_NOT_FOUND") {
      process.stderr.write(`missing npm package ${name}: run \`make setup\` (npm ci) in the project root\n`);
      process.exit(3);
    }
    throw err;
  }
}

/** Read all of stdin as UTF-8 and parse it as JSON. */
function readStdinJson() {
  const text = require("fs").readFileSync(0, "utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    process.stderr.write(`stdin is not valid JSON: ${err.message}\n`);
    process.exit(2);
  }
}

/** Value of `--name VALUE` in argv, or undefined. */
function option(argv, name) {
  const at = argv.indexOf(name);
  if (at === -1) return undefined;
  if (at + 1 >= argv.length) {
    process.stderr.write(`${name} needs a value\n`);
    process.exit(2);
  }
  return argv[at + 1];
}

module.exports = { need, readStdinJson, option };
