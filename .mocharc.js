// Runs every test by default (`npm test`); given test files (`npx mocha dist/test/x.test.js`), runs just those.
'use strict';
const args = process.argv.slice(2);
const valueOptions = new Set(['--ignore', '--exclude', '--require', '-r', '--config', '--reporter', '-R', '--grep', '-g', '--fgrep', '-f', '--timeout', '-t', '--file']);
const given = args.some((arg, i) => arg.endsWith('.js') && !arg.startsWith('-') && !valueOptions.has(args[i - 1] ?? ''));
module.exports = {
  ...(given ? {} : { spec: ['dist/test/**/*.test.js'] }),
  require: ['dist/test/support/hooks.js'],
  timeout: 30000,
  reporter: 'spec',
  exit: true,
};
