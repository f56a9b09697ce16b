#!/usr/bin/env node
// Checked before anything else is loaded: on an older Node the code below fails with an
// import or syntax error that names neither the cause nor the fix. Plain syntax that Node 12
// still parses, and no top-level await, so even an old Node reaches the message.
var required = [22, 12];
var found = process.versions.node.split('.').map(Number);
if (found[0] < required[0] || (found[0] === required[0] && found[1] < required[1])) {
  process.stderr.write(
    'drover: Node.js ' +
      required.join('.') +
      ' or later is required, this is ' +
      process.versions.node +
      ' (' +
      process.execPath +
      '): install Node 22, or on Debian run .ci/run, which puts one in .ci/node\n',
  );
  process.exit(1);
}
import('../dist/main.js').catch(function (err) {
  // A checkout that was never built: say how to build it rather than print a resolver trace.
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).indexOf('/cli/dist/main.js') !== -1) {
    process.stderr.write(
      'drover: this checkout is not built yet: run `npm run build` in ' + new URL('../../..', import.meta.url).pathname + '\n',
    );
    process.exit(1);
  }
  throw err;
});
