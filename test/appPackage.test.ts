import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import AdmZip from 'adm-zip';
import { TeamsManifestConverter } from '@microsoft/app-manifest';
import { PNG } from 'pngjs';
import {
  PackageError,
  buildPackage,
  checkTeamsRules,
  defaultTeamsAppId,
  environmentFor,
  fillPlaceholders,
  missingVariablesMessage,
  packageVersion,
  placeholdersIn,
  uuidV5,
  validateManifest,
} from '../scripts/package';
import { ACCENT, drawColorIcon, drawOutlineIcon, readPng, type RgbaImage } from '../scripts/icons';
import { repositoryRoot } from '../scripts/playground';

type Manifest = Record<string, any>;

const ROOT = repositoryRoot();
const APP_PACKAGE = path.join(ROOT, 'appPackage');
const TEMPLATE = fs.readFileSync(path.join(APP_PACKAGE, 'manifest.json'), 'utf8');

/** Who publishes the app: a partnership's own details, from its environment. */
const DEVELOPER = {
  DEVELOPER_NAME: 'Riverside Schools Together',
  DEVELOPER_WEBSITE_URL: 'https://riverside-together.example.org',
  DEVELOPER_PRIVACY_URL: 'https://riverside-together.example.org/privacy',
  DEVELOPER_TERMS_URL: 'https://riverside-together.example.org/terms',
};

const FIXTURE = {
  BOT_ID: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
  TEAMS_APP_ID: 'c0ffee00-1234-4abc-8def-0123456789ab',
  BOT_DOMAIN: 'together-bot.example.net',
  APP_VERSION: '0.1.0',
  ...DEVELOPER,
};

const PLACEHOLDER = /\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * What the Microsoft 365 Agents Toolkit's teamsApp/zipAppPackage writes as manifest.json, following
 * @microsoft/teamsfx-core 3.1.3 (ManifestUtils.getManifestV3 and createAppPackage.js, in
 * @microsoft/m365agentstoolkit-cli 1.1.17): the template is read with @microsoft/app-manifest's
 * TeamsManifestConverter (the same package and version as ours) and stringified, each ${{NAME}} is
 * replaced by the environment's value as it is, the result parsed and written with
 * JSON.stringify(manifest, null, 4). A placeholder left unfilled fails.
 */
function toolkitManifestJson(template: string, env: Record<string, string>): string {
  const read = TeamsManifestConverter.jsonToManifest(template);
  const resolved = JSON.stringify(read).replace(PLACEHOLDER, (whole, name: string) => env[name] || whole);
  const left = [...resolved.matchAll(PLACEHOLDER)].map((m) => m[1]);
  if (left.length) throw new Error(`the Toolkit would stop: ${left.join(', ')} not defined`);
  return JSON.stringify(JSON.parse(resolved), null, 4);
}

/** KEY=VALUE lines of an env file. */
function envFileValues(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(line);
    if (m) values[m[1]!] = m[2]!.trim();
  }
  return values;
}

/** The commands the menus may offer (the rest are in `help`), in the order the manifest lists them. */
const COMMANDS: ReadonlyArray<readonly [title: string, description: string]> = [
  ["help", "Show what you can do with Together"],
  ["whoami", "Show your role and your school"],
  ["my school", "Set your school: my school Oakfield Academy"],
  ["directory", "List the partnership's schools, reps and coordinators"],
  ["teachmeets", "List upcoming TeachMeets"],
  ["my teachmeets", "The TeachMeets you attended or presented at"],
  ["teachmeet new", "Reps and coordinators: create a TeachMeet and post its sign-up card"],
  ["swaps", "Open, proposed and agreed trainee placement swaps"],
  ["swap offer", "Reps: offer a trainee placement swap for your school"],
  ["propose", "Reps: propose a cross-school project to the partner schools"],
  ["proposals", "Proposals by status, with what waits on your school first"],
  ["announce", "Coordinators: compose an announcement to the partnership"],
  ["deadlines", "Coordinators: upcoming and overdue deadlines, by school"],
  ["school add", "Coordinators: add a school: school add Oakfield Academy"],
  ["school rename", "Coordinators: school rename Oakfield to Oakfield Academy"],
  ["school remove", "Coordinators: remove a school"],
  ["rep add", "Coordinators: rep add @name Oakfield Academy"],
  ["rep remove", "Coordinators: rep remove @name"],
  ["coordinator add", "Coordinators: coordinator add @name"],
  ["coordinator remove", "Coordinators: coordinator remove @name"],
  ["channel", "Coordinators: mark this channel for announcements, reps or a school"],
];
const TITLES = COMMANDS.map(([t]) => t);

function filledManifest(): Manifest {
  return JSON.parse(fillPlaceholders(TEMPLATE, FIXTURE)) as Manifest;
}

function pixelAt(img: RgbaImage, x: number, y: number): [number, number, number, number] {
  const i = (y * img.width + x) * 4;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!, img.data[i + 3]!];
}

/**
 * A 16-bit RGBA PNG (what an image editor saves at 16 bits a channel), written by pngjs:
 * `pixel(x, y)` gives 8-bit RGBA, scaled to 16 bits.
 */
function png16(width: number, height: number, pixel: (x: number, y: number) => readonly [number, number, number, number]): Buffer {
  const png = new PNG({ width, height, bitDepth: 16, colorType: 6, inputColorType: 6 });
  const words = new Uint16Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixel(x, y).forEach((v, c) => (words[(y * width + x) * 4 + c] = v * 257));
  png.data = Buffer.from(words.buffer);
  return PNG.sync.write(png, { bitDepth: 16, colorType: 6, inputColorType: 6 });
}

/**
 * A 2-bit palette PNG (what icon optimisers write for a few-colour icon): pngjs writes only 8 and 16 bits,
 * so its chunks are put together here, and pngjs reads it back to show it is a valid PNG.
 */
function png2BitPalette(width: number, height: number, palette: ReadonlyArray<readonly [number, number, number]>, index: (x: number, y: number) => number): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    const out = Buffer.alloc(body.length + 12);
    out.writeUInt32BE(body.length, 0);
    typed.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(typed), 8 + body.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 2; // bit depth
  ihdr[9] = 3; // palette
  const stride = Math.ceil(width / 4);
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (stride + 1) + 1 + (x >> 2);
      raw[at] = raw[at]! | (index(x, y) << (6 - 2 * (x & 3)));
    }
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(palette.flat())),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  const back = PNG.sync.read(png);
  assert.deepEqual([back.width, back.height], [width, height], 'pngjs reads the 2-bit PNG back');
  return png;
}

/** An appPackage folder with the template and the given icons. */
function appPackageWith(icons: { color: Buffer; outline: Buffer }): string {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'manifest.json'), TEMPLATE);
  fs.writeFileSync(path.join(dir, 'color.png'), icons.color);
  fs.writeFileSync(path.join(dir, 'outline.png'), icons.outline);
  return dir;
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'together-apppkg-'));
}

describe('Teams app package', () => {
  describe('manifest', () => {
    it('when the template is read, then its $schema is a Teams schema of v1.17 or later that ships in node_modules', () => {
      const manifest = JSON.parse(TEMPLATE) as Manifest;
      const version = /\/json-schemas\/teams\/(v1\.\d+)\/MicrosoftTeams\.schema\.json$/.exec(String(manifest['$schema']))?.[1];
      assert.ok(version, `unrecognised $schema ${manifest['$schema']}`);
      const minor = Number(/^v1\.(\d+)$/.exec(version)?.[1]);
      assert.ok(minor >= 17, `schema ${version} is older than v1.17`);
      assert.equal(manifest['manifestVersion'], version.slice(1));
      const shipped = path.join(ROOT, 'node_modules', '@microsoft', 'app-manifest', 'build', 'json-schemas', 'teams', version, 'MicrosoftTeams.schema.json');
      assert.ok(fs.existsSync(shipped), `${shipped} is missing, so validation would need the network`);
    });

    it("when the placeholders are filled with fixture ids, then @microsoft/app-manifest validates the manifest against the official schema for its version", async () => {
      assert.deepEqual(await validateManifest(filledManifest()), []);
      assert.deepEqual(checkTeamsRules(filledManifest()), []);
    });

    const broken: Array<[string, (m: Manifest) => void, RegExp]> = [
      ['bots[0].botId is missing', (m) => delete m['bots'][0]['botId'], /botId/],
      ['a bot scope is unknown', (m) => m['bots'][0]['scopes'].push('meetings'), /scopes/],
      ['the app id is not a GUID', (m) => (m['id'] = 'not-a-guid'), /^\/id /],
      ['a command list has 11 commands', (m) => m['bots'][0]['commandLists'][0]['commands'].push({ title: 'extra', description: 'x' }), /commands/],
      ['an unknown top-level property is added', (m) => (m['botFramework'] = true), /additional/],
      ['the accent colour is not a hex colour', (m) => (m['accentColor'] = 'blue'), /accentColor/],
    ];
    for (const [what, breakIt, mentions] of broken) {
      it(`when ${what}, then schema validation fails and says where`, async () => {
        const manifest = filledManifest();
        breakIt(manifest);
        const errors = await validateManifest(manifest);
        assert.ok(errors.length > 0, 'expected validation errors');
        assert.ok(errors.some((e) => mentions.test(e)), `no error matching ${mentions}: ${errors.join('; ')}`);
      });
    }

    it('when a command title is repeated or longer than Teams allows, then the Teams rules say which', () => {
      const manifest = filledManifest();
      const commands = manifest['bots'][0]['commandLists'][0]['commands'];
      commands.push({ title: commands[0]['title'], description: 'again' });
      commands[1]['title'] = 'x'.repeat(33);
      assert.deepEqual(checkTeamsRules(manifest), [
        `/bots/0/commandLists/0/commands/1/title is longer than 32 characters: ${'x'.repeat(33)}`,
        `/bots/0/commandLists/0/commands/${commands.length - 1}/title repeats "${commands[0]['title']}" in the same list`,
      ]);
    });

    it('when the template is read, then ids, version, publisher details and the bot domain are Toolkit placeholders, not hard-coded', () => {
      const manifest = JSON.parse(TEMPLATE) as Manifest;
      assert.equal(manifest['id'], '${{TEAMS_APP_ID}}');
      assert.equal(manifest['version'], '${{APP_VERSION}}');
      assert.equal(manifest['bots'][0]['botId'], '${{BOT_ID}}');
      assert.deepEqual(manifest['validDomains'], ['${{BOT_DOMAIN}}']);
      assert.deepEqual(manifest['developer'], {
        name: '${{DEVELOPER_NAME}}',
        websiteUrl: '${{DEVELOPER_WEBSITE_URL}}',
        privacyUrl: '${{DEVELOPER_PRIVACY_URL}}',
        termsOfUseUrl: '${{DEVELOPER_TERMS_URL}}',
      });
    });

    it('when the Toolkit fills the manifest from env/.env.dev, then that file lists every placeholder the manifest uses', () => {
      const listed = envFileValues(path.join(ROOT, 'env', '.env.dev'));
      for (const name of placeholdersIn(TEMPLATE)) assert.ok(name in listed, `env/.env.dev does not list ${name}`);
    });

    it('when the template is read, then names, descriptions, bot settings and permissions are as agreed', () => {
      const m = filledManifest();
      assert.deepEqual(m['name'], { short: 'Together', full: 'Together — school partnerships' });
      assert.equal(m['description']['short'], 'TeachMeets, placement swaps and joint projects for partner schools');
      for (const topic of [/TeachMeet/, /placement swap/, /approved/, /school hours/, /announcement/]) {
        assert.match(m['description']['full'], topic);
      }
      assert.deepEqual(m['developer'], {
        name: DEVELOPER.DEVELOPER_NAME,
        websiteUrl: DEVELOPER.DEVELOPER_WEBSITE_URL,
        privacyUrl: DEVELOPER.DEVELOPER_PRIVACY_URL,
        termsOfUseUrl: DEVELOPER.DEVELOPER_TERMS_URL,
      });
      assert.equal(m['accentColor'], '#2B6CB0');
      assert.deepEqual(m['localizationInfo'], { defaultLanguageTag: 'en-gb' });
      assert.deepEqual(m['permissions'], ['identity', 'messageTeamMembers']);
      assert.equal(m['bots'].length, 1);
      const bot = m['bots'][0];
      assert.deepEqual([...bot['scopes']].sort(), ['groupChat', 'personal', 'team']);
      assert.equal(bot['supportsFiles'], false);
      assert.equal(bot['isNotificationOnly'], false);
      assert.deepEqual(m['icons'], { color: 'color.png', outline: 'outline.png' });
    });

    it('when the command lists are read, then there is one per bot scope with at most 10 known commands in the agreed order', () => {
      const bot = filledManifest()['bots'][0];
      const lists = bot['commandLists'] as Array<{ scopes: string[]; commands: Array<{ title: string; description: string }> }>;
      assert.deepEqual(lists.map((l) => l.scopes), [['personal'], ['team'], ['groupChat']]);
      for (const list of lists) {
        const titles = list.commands.map((c) => c.title);
        assert.ok(titles.length <= 10, `${list.scopes[0]} has ${titles.length} commands`);
        for (const { title, description } of list.commands) {
          assert.ok(TITLES.includes(title), `unknown command title "${title}"`);
          assert.equal(description, COMMANDS.find(([t]) => t === title)![1], `description of "${title}"`);
          assert.ok(title.length <= 32, `title too long: ${title}`);
          assert.ok(description.length <= 128, `description too long: ${description}`);
        }
        assert.deepEqual(titles, TITLES.filter((t) => titles.includes(t)), `${list.scopes[0]} commands are out of order`);
        assert.equal(new Set(titles).size, titles.length, 'duplicate titles');
        for (const core of ['help', 'whoami', 'teachmeets']) assert.ok(titles.includes(core), `${list.scopes[0]} lacks ${core}`);
      }
      const byScope = Object.fromEntries(lists.map((l) => [l.scopes[0], l.commands.map((c) => c.title)]));
      assert.ok(byScope['team']!.includes('channel'), 'team scope must offer "channel"');
      assert.ok(!byScope['personal']!.includes('channel'), 'personal scope must not offer "channel"');
      assert.ok(!byScope['groupChat']!.includes('channel'), 'group chats have no channels to mark');
    });
  });

  describe('icons', () => {
    it('when color.png is decoded, then it is a 192×192 opaque full-colour icon in the accent colour', () => {
      const img = readPng(fs.readFileSync(path.join(APP_PACKAGE, 'color.png')));
      assert.equal(img.width, 192);
      assert.equal(img.height, 192);
      assert.deepEqual(pixelAt(img, 0, 0), [ACCENT.r, ACCENT.g, ACCENT.b, 255]);
      assert.deepEqual(pixelAt(img, 191, 191), [ACCENT.r, ACCENT.g, ACCENT.b, 255]);
      let white = 0;
      for (let p = 0; p < 192 * 192; p++) {
        assert.equal(img.data[p * 4 + 3], 255, 'color icon should be opaque');
        if (img.data[p * 4] === 255 && img.data[p * 4 + 1] === 255 && img.data[p * 4 + 2] === 255) white++;
      }
      assert.ok(white > 500, 'expected a white symbol on the accent background');
    });

    it('when outline.png is decoded, then it is 32×32 and every non-transparent pixel is white', () => {
      const img = readPng(fs.readFileSync(path.join(APP_PACKAGE, 'outline.png')));
      assert.equal(img.width, 32);
      assert.equal(img.height, 32);
      let visible = 0;
      let transparent = 0;
      for (let p = 0; p < 32 * 32; p++) {
        const [r, g, b, a] = img.data.subarray(p * 4, p * 4 + 4);
        if (a === 0) transparent++;
        else {
          visible++;
          assert.deepEqual([r, g, b], [255, 255, 255], `pixel ${p % 32},${Math.floor(p / 32)} is not white`);
        }
      }
      assert.ok(visible > 50, 'outline icon is (nearly) empty');
      assert.ok(transparent > 200, 'outline icon needs a transparent background');
      assert.equal(pixelAt(img, 0, 0)[3], 0, 'corner should be fully transparent');
    });

    it('when the icons are redrawn by scripts/icons.ts, then they match the committed files pixel for pixel', () => {
      for (const [file, img] of [['color.png', drawColorIcon(192)], ['outline.png', drawOutlineIcon(32)]] as const) {
        const committed = readPng(fs.readFileSync(path.join(APP_PACKAGE, file)));
        assert.equal(Buffer.compare(Buffer.from(committed.data), Buffer.from(img.data)), 0, `${file} is stale: run node dist/scripts/icons.js`);
      }
    });

    it('when the colour icon is a valid 2-bit palette PNG and the outline a valid 16-bit PNG, then the package is built with them as they are', async () => {
      const accent = [ACCENT.r, ACCENT.g, ACCENT.b] as const;
      const color = png2BitPalette(192, 192, [accent, [255, 255, 255]], (x, y) => ((x - 96) ** 2 + (y - 96) ** 2 < 40 ** 2 ? 1 : 0));
      const outline = png16(32, 32, (x, y) => (Math.abs(x - 16) < 8 && Math.abs(y - 16) < 8 ? [255, 255, 255, 255] : [255, 255, 255, 0]));
      const pkg = appPackageWith({ color, outline });
      const out = tempDir();
      try {
        const zip = new AdmZip((await buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID }, out, pkg)).zipPath);
        assert.ok(zip.readFile('color.png')!.equals(color), 'the 2-bit colour icon is packaged unchanged');
        assert.ok(zip.readFile('outline.png')!.equals(outline), 'the 16-bit outline icon is packaged unchanged');
      } finally {
        fs.rmSync(pkg, { recursive: true, force: true });
        fs.rmSync(out, { recursive: true, force: true });
      }
    });

    const wrongSizes: Array<[string, () => { color: Buffer; outline: Buffer }, string, string]> = [
      [
        'the colour icon is a 16-bit 100×100 PNG',
        () => ({ color: png16(100, 100, () => [43, 108, 176, 255]), outline: fs.readFileSync(path.join(APP_PACKAGE, 'outline.png')) }),
        'color.png',
        '(color icon) must be 192×192, is 100×100',
      ],
      [
        'the outline icon is a 2-bit 48×48 PNG',
        () => ({ color: fs.readFileSync(path.join(APP_PACKAGE, 'color.png')), outline: png2BitPalette(48, 48, [[255, 255, 255]], () => 0) }),
        'outline.png',
        '(outline icon) must be 32×32, is 48×48',
      ],
    ];
    for (const [what, icons, file, message] of wrongSizes) {
      it(`when ${what}, then the package is refused with a message naming the icon and both sizes, and nothing is written`, async () => {
        const pkg = appPackageWith(icons());
        const out = tempDir();
        try {
          await assert.rejects(buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID }, out, pkg), (err: unknown) => err instanceof PackageError && err.message === `${path.join(pkg, file)} ${message}`);
          assert.deepEqual(fs.readdirSync(out), []);
        } finally {
          fs.rmSync(pkg, { recursive: true, force: true });
          fs.rmSync(out, { recursive: true, force: true });
        }
      });
    }
  });

  describe('buildPackage', () => {
    let out: string;
    beforeEach(() => {
      out = tempDir();
    });
    afterEach(() => {
      fs.rmSync(out, { recursive: true, force: true });
    });

    it('when BOT_ID is set, then the zip holds exactly manifest.json, color.png and outline.png with real ids and no placeholders', async () => {
      const result = await buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID, BOT_ENDPOINT: 'https://together-bot.azurewebsites.net/api/messages' }, out);
      assert.equal(result.zipPath, path.join(out, 'appPackage.zip'));
      const zip = new AdmZip(result.zipPath);
      const names = zip.getEntries().map((e) => e.entryName).sort();
      assert.deepEqual(names, ['color.png', 'manifest.json', 'outline.png']);

      const text = zip.readAsText('manifest.json');
      assert.ok(!text.includes('${{'), 'placeholder left in the packaged manifest');
      const manifest = JSON.parse(text) as Manifest;
      assert.equal(manifest['bots'][0]['botId'], FIXTURE.BOT_ID);
      assert.equal(manifest['id'], defaultTeamsAppId(FIXTURE.BOT_ID));
      assert.deepEqual(manifest['validDomains'], ['together-bot.azurewebsites.net']);
      assert.deepEqual(await validateManifest(manifest), []);

      for (const icon of ['color.png', 'outline.png']) {
        assert.ok(zip.readFile(icon)!.equals(fs.readFileSync(path.join(APP_PACKAGE, icon))), `${icon} differs from appPackage/`);
      }
    });

    it('when BOT_ID is set twice, then the derived Teams app id is the same stable v5 UUID, and differs for another bot', async () => {
      const first = (await buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID }, out)).manifest['id'];
      const second = (await buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID.toUpperCase() }, out)).manifest['id'];
      assert.equal(first, second);
      assert.match(String(first), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.notEqual(first, FIXTURE.BOT_ID);
      assert.notEqual(defaultTeamsAppId('11111111-2222-3333-4444-555555555555'), first);
    });

    it('when a v5 UUID is derived for the RFC 4122 example name, then it matches the published value', () => {
      assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
    });

    it('when neither BOT_DOMAIN nor BOT_ENDPOINT is set, then validDomains is localhost', async () => {
      assert.deepEqual((await buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID }, out)).manifest['validDomains'], ['localhost']);
    });

    it('when TEAMS_APP_ID and BOT_DOMAIN are set, then they are used as given', async () => {
      const { manifest } = await buildPackage({ ...FIXTURE, BOT_ENDPOINT: 'https://ignored.example/api/messages' }, out);
      assert.equal(manifest['id'], FIXTURE.TEAMS_APP_ID);
      assert.deepEqual(manifest['validDomains'], [FIXTURE.BOT_DOMAIN]);
    });

    it('when BOT_ID and some publisher details are missing, then one message lists every missing variable and nothing is written', async () => {
      await assert.rejects(
        buildPackage({ BOT_ENDPOINT: 'https://x.example/api/messages', DEVELOPER_NAME: 'Riverside Schools Together', DEVELOPER_TERMS_URL: ' ' }, out),
        (err: unknown) => err instanceof PackageError && err.message === missingVariablesMessage(['BOT_ID', 'DEVELOPER_WEBSITE_URL', 'DEVELOPER_PRIVACY_URL', 'DEVELOPER_TERMS_URL']),
      );
      assert.equal(
        missingVariablesMessage(['BOT_ID', 'DEVELOPER_PRIVACY_URL']),
        [
          'Cannot build the Teams app package: set these variables (in the environment, or in env/.env.<name> and run npm run package -- --env <name>):',
          "  BOT_ID (the bot's Microsoft App ID)",
          '  DEVELOPER_PRIVACY_URL (https link to your privacy notice)',
        ].join('\n'),
      );
      assert.deepEqual(fs.readdirSync(out), []);
    });

    it('when the environment gives another APP_VERSION, then the package still carries package.json\'s version', async () => {
      const { manifest } = await buildPackage({ ...FIXTURE, APP_VERSION: '9.9.9' }, out);
      assert.equal(manifest['version'], packageVersion());
      assert.equal(manifest['version'], (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    });

    it('when the Toolkit runs scripts/app-version.js, then it is told package.json\'s version as APP_VERSION', () => {
      const run = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'app-version.js')], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stdout.trim(), `::set-teamsfx-env APP_VERSION=${packageVersion()}`);
    });

    it('when npm run package and the Toolkit fill the manifest from the same env file, then they write the same manifest.json and icons', async () => {
      const root = tempDir();
      try {
        fs.mkdirSync(path.join(root, 'env'));
        fs.writeFileSync(
          path.join(root, 'env', '.env.school'),
          [
            '# as provision leaves it',
            'TEAMSFX_ENV=school',
            `APP_VERSION=${packageVersion()}`,
            `TEAMS_APP_ID=${FIXTURE.TEAMS_APP_ID}`,
            `BOT_ID=${FIXTURE.BOT_ID}`,
            'BOT_DOMAIN=together-x4k2m9q7w1e5r.azurewebsites.net',
            ...Object.entries(DEVELOPER).map(([k, v]) => `${k}=${v}`),
            'DEVELOPER_NAME=placeholder overridden by .user',
          ].join('\n'),
        );
        fs.writeFileSync(path.join(root, 'env', '.env.school.user'), `DEVELOPER_NAME=${DEVELOPER.DEVELOPER_NAME}\n`);
        const env = environmentFor('school', {}, root);
        const ours = new AdmZip((await buildPackage(env, out)).zipPath);
        const toolkitEnv = { ...envFileValues(path.join(root, 'env', '.env.school')), ...envFileValues(path.join(root, 'env', '.env.school.user')) };
        assert.equal(ours.readAsText('manifest.json'), toolkitManifestJson(TEMPLATE, toolkitEnv));
        assert.deepEqual(ours.getEntries().map((e) => e.entryName).sort(), ['color.png', 'manifest.json', 'outline.png']);
        for (const icon of ['color.png', 'outline.png']) assert.ok(ours.readFile(icon)!.equals(fs.readFileSync(path.join(APP_PACKAGE, icon))));
        // A variable set in the process environment wins over the file, as with the Toolkit's own env.
        assert.equal(environmentFor('school', { BOT_DOMAIN: 'other.example.net' }, root)['BOT_DOMAIN'], 'other.example.net');
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });

    it('when BOT_ID is not a GUID, then it fails before writing anything', async () => {
      await assert.rejects(buildPackage({ ...DEVELOPER, BOT_ID: 'my-bot' }, out), /BOT_ID must be .*GUID/);
      assert.deepEqual(fs.readdirSync(out), []);
    });

    it('when the manifest has a placeholder nobody can fill, then it refuses to write the package', async () => {
      const pkg = tempDir();
      try {
        for (const f of ['color.png', 'outline.png']) fs.copyFileSync(path.join(APP_PACKAGE, f), path.join(pkg, f));
        fs.writeFileSync(path.join(pkg, 'manifest.json'), TEMPLATE.replace('"${{DEVELOPER_PRIVACY_URL}}"', '"${{PRIVACY_URL}}"'));
        await assert.rejects(buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID }, out, pkg), (err: unknown) => err instanceof PackageError && err.message === missingVariablesMessage(['PRIVACY_URL']));
        assert.deepEqual(fs.readdirSync(out), []);
        // …and the same placeholder is filled from the environment when it is set.
        const { manifest } = await buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID, PRIVACY_URL: 'https://together.example/p' }, out, pkg);
        assert.equal((manifest as Manifest)['developer']['privacyUrl'], 'https://together.example/p');
      } finally {
        fs.rmSync(pkg, { recursive: true, force: true });
      }
    });

    it('when the filled manifest breaks the schema, then it refuses to write the package', async () => {
      const pkg = tempDir();
      try {
        for (const f of ['color.png', 'outline.png']) fs.copyFileSync(path.join(APP_PACKAGE, f), path.join(pkg, f));
        fs.writeFileSync(path.join(pkg, 'manifest.json'), TEMPLATE.replace('"#2B6CB0"', '"blue"'));
        await assert.rejects(buildPackage({ ...DEVELOPER, BOT_ID: FIXTURE.BOT_ID }, out, pkg), /not valid[\s\S]*accentColor/);
        assert.deepEqual(fs.readdirSync(out), []);
      } finally {
        fs.rmSync(pkg, { recursive: true, force: true });
      }
    });

    it('when dist/scripts/package.js runs without BOT_ID or publisher details, then it prints the one message listing them and exits 1', () => {
      const env = { ...process.env };
      for (const name of ['BOT_ID', ...Object.keys(DEVELOPER)]) delete env[name];
      const run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'package.js')], { env, encoding: 'utf8', cwd: out });
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr.trim(), missingVariablesMessage(['BOT_ID', ...Object.keys(DEVELOPER)]));
    });

    it('when dist/scripts/package.js runs with --env dev on the committed env/.env.dev, then it lists what provision has not filled in yet and exits 1', () => {
      const env = { ...process.env };
      for (const name of ['BOT_ID', ...Object.keys(DEVELOPER)]) delete env[name];
      const run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'package.js'), '--env', 'dev'], { env, encoding: 'utf8', cwd: out });
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr.trim(), missingVariablesMessage(['BOT_ID', ...Object.keys(DEVELOPER)]));
    });

    it('when dist/scripts/package.js is given an environment that does not exist, then it says so and exits 1', () => {
      const run = spawnSync(process.execPath, [path.join(ROOT, 'dist', 'scripts', 'package.js'), '--env', 'nosuch'], { encoding: 'utf8', cwd: out });
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr.trim(), 'There is no environment "nosuch": env/.env.nosuch does not exist');
    });
  });
});
