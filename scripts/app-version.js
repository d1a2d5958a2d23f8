#!/usr/bin/env node
// Plain JavaScript so it runs before a build. Tells the Microsoft 365 Agents Toolkit (m365agents.yml,
// `uses: script`) the app version for the Teams manifest: package.json's version, the same one
// `npm run package` uses.
'use strict';
const { version } = require('../package.json');
console.log(`::set-teamsfx-env APP_VERSION=${version}`);
