// Runs every test by default (`npm test`); given files (`npx mocha dist/test/x.test.js`), runs just those.
'use strict';
const given = process.argv.slice(2).some((arg) => !arg.startsWith('-') && arg.endsWith('.js'));
module.exports = {
  ...(given ? {} : { spec: ['dist/test/**/*.test.js'] }),
  require: ['dist/test/support/hooks.js'],
  timeout: 30000,
  reporter: 'spec',
  exit: true,
};
