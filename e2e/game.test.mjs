// End-to-end: the real WASM client in headless Chromium against the real server on 127.0.0.1.
// Two browser pages join; one moves, fires and chats; the other sees all of it. Two server
// processes sharing a Redis: a room's link opened on one seats the player on the other, and a
// drained process sends its players back through the lobby. A spectator follows a player; a
// player's death shows the kill-cam. A finished match is listed in the
// lobby and plays in the page (the server's simulation, in wasm, to the same fingerprints). The
// page's icon
// loads, the camera stays on the map, the minimap is drawn, and the console stays free of
// errors (not one: a missing favicon's 404 counts). The test saves screenshots to
// e2e/artifacts/ and fails if the canvas is blank.
//
// Run through `cargo xtask test`, or by hand with the server built and the client in dist/:
//   SKIRMISH_SERVER_BIN=target/debug/skirmish-server SKIRMISH_BOTS_BIN=target/debug/bots \
//   SKIRMISH_DIST=dist node --test e2e/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const serverBin = process.env.SKIRMISH_SERVER_BIN ?? join(root, 'target/debug/skirmish-server');
const botsBin = process.env.SKIRMISH_BOTS_BIN ?? join(root, 'target/debug/bots');
const dist = process.env.SKIRMISH_DIST ?? join(root, 'dist');
const artifacts = join(here, 'artifacts');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WAIT_MS = 20_000;

async function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

/** Starts the game server with its database in `dataDir` (and `extra` flags); resolves once it
 *  prints the URL to open. */
async function startServer(port, dataDir, map = join(root, 'assets/maps/arena.json'), extra = []) {
  const child = spawn(serverBin, [
    '--bind', `127.0.0.1:${port}`, '--static-dir', dist, '--map', map, '--data-dir', dataDir,
    // Both players must see each other from opposite corners of the arena.
    '--view-radius', '0',
    // Stopping it with players still seated waits two seconds for them, not thirty.
    '--drain-secs', '2',
    ...extra,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'info' } });
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${log}`)), WAIT_MS);
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes(`http://127.0.0.1:${port}/`)) { clearTimeout(timer); ok(); }
    });
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`server exited with ${code}:\n${log}`)); });
  });
  return { child, log: () => log };
}

async function launchBrowser() {
  const profile = mkdtempSync(join(tmpdir(), 'skirmish-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1000, height: 700 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { context, profile };
}

/** Polls `fn` in the page until it returns a truthy value. */
async function waitFor(page, what, fn, arg) {
  const handle = await page.waitForFunction(fn, arg, { timeout: WAIT_MS, polling: 100 })
    .catch((err) => { throw new Error(`timed out waiting for ${what}: ${err.message}`); });
  return handle.jsonValue();
}

/** Records everything that would show as an error in the page's console: script errors,
 *  console.error calls, failed requests and HTTP errors (Chromium logs those too). */
function watchErrors(page) {
  const errors = [];
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`console: ${msg.text()}`); });
  page.on('requestfailed', (req) => errors.push(`request failed: ${req.url()} ${req.failure()?.errorText}`));
  page.on('response', (res) => { if (res.status() >= 400) errors.push(`HTTP ${res.status()}: ${res.url()}`); });
  return errors;
}

async function joinGame(page, url, name) {
  const errors = watchErrors(page);
  await page.goto(url);
  await page.fill('#name-input', name);
  await page.click('#join-button');
  await waitFor(page, `${name} to join`, () => window.skirmishDebug?.().state === 'joined');
  assert.equal(await page.isVisible('#join-form'), false, 'the join form is hidden after joining');
  return errors;
}

const debug = (page) => page.evaluate(() => window.skirmishDebug());

/** Counts distinct colours on a grid of canvas samples, and the share that differs from the corner. */
async function canvasVariety(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector('canvas#game');
    const ctx = canvas.getContext('2d');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set();
    let differing = 0; let samples = 0;
    const corner = data.slice(0, 4).join(',');
    for (let y = 0; y < canvas.height; y += 7) {
      for (let x = 0; x < canvas.width; x += 7) {
        const i = (y * canvas.width + x) * 4;
        const rgba = `${data[i]},${data[i + 1]},${data[i + 2]},${data[i + 3]}`;
        colours.add(rgba);
        samples += 1;
        if (rgba !== corner) differing += 1;
      }
    }
    return { colours: colours.size, differing: differing / samples, width: canvas.width, height: canvas.height };
  });
}

/** Stops the server with SIGTERM and checks it exits 0 within 10 s. */
async function stopServer(server) {
  const exited = new Promise((ok) => server.child.once('exit', (code, signal) => ok({ code, signal })));
  server.child.kill('SIGTERM');
  const timeout = new Promise((ok) => setTimeout(() => ok(null), 10_000));
  const result = await Promise.race([exited, timeout]);
  if (result === null) server.child.kill('SIGKILL');
  assert.deepEqual(result, { code: 0, signal: null }, `the server exits 0 on SIGTERM within 10 s\n${server.log()}`);
}

/** Closes the browsers (removing their profiles), stops the server, removes its data. */
async function tearDown(browsers, server, dataDir) {
  for (const { context, profile } of browsers) {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  await stopServer(server);
  rmSync(dataDir, { recursive: true, force: true });
}

test('two browser players join, move, fire and chat', { timeout: 180_000 }, async () => {
  mkdirSync(artifacts, { recursive: true });
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'skirmish-e2e-data-'));
  const server = await startServer(port, dataDir);
  const url = `http://127.0.0.1:${port}/`;
  const browsers = [await launchBrowser(), await launchBrowser()];
  try {
    const alice = await browsers[0].context.newPage();
    const bob = await browsers[1].context.newPage();
    const aliceErrors = await joinGame(alice, url, 'Alice');
    const bobErrors = await joinGame(bob, url, 'Bob');
    const aliceId = (await debug(alice)).playerId;
    assert.equal(typeof aliceId, 'number', 'Alice has a player id');

    // The icon: /favicon.ico (which browsers ask for on their own) and every icon the page links
    // load as images.
    const icons = await alice.evaluate(async () => {
      const hrefs = ['/favicon.ico', ...[...document.querySelectorAll('link[rel~="icon"]')].map((l) => l.href)];
      return Promise.all(hrefs.map(async (href) => {
        const response = await fetch(href);
        const img = new Image();
        img.src = href;
        const decoded = await img.decode().then(() => true, () => false);
        return { href, status: response.status, type: response.headers.get('content-type'), decoded, width: img.naturalWidth };
      }));
    });
    console.log(`icons: ${JSON.stringify(icons)}`);
    assert.ok(icons.length >= 3, `the page links its icons: ${JSON.stringify(icons)}`);
    for (const icon of icons) {
      assert.equal(icon.status, 200, `${icon.href} is served`);
      assert.ok(icon.decoded && icon.width > 0, `${icon.href} is an image: ${JSON.stringify(icon)}`);
    }

    // Bob sees Alice, with her name.
    const seen = await waitFor(bob, 'Bob to see Alice', (id) =>
      window.skirmishDebug().players.find((p) => p.id === id && p.name === 'Alice'), aliceId);
    console.log(`Bob sees Alice at (${seen.x.toFixed(1)}, ${seen.y.toFixed(1)})`);

    // Alice moves toward the middle of the arena; Bob sees her travel.
    const key = seen.x < 800 ? 'KeyD' : 'KeyA';
    await alice.keyboard.down(key);
    await alice.waitForTimeout(1000);
    await alice.keyboard.up(key);
    const moved = await waitFor(bob, 'Bob to see Alice move', ([id, x0]) => {
      const p = window.skirmishDebug().players.find((q) => q.id === id);
      return p && Math.abs(p.x - x0) > 80 ? p : null;
    }, [aliceId, seen.x]);
    console.log(`Alice moved from x=${seen.x.toFixed(1)} to x=${moved.x.toFixed(1)} in Bob's view`);

    // Alice fires toward Bob; Bob sees the laser (the server sends a beam to the screens it
    // crosses, and Bob's screen is where Bob is).
    const shotsBefore = (await debug(bob)).shotsSeen;
    const box = await alice.locator('canvas#game').boundingBox();
    const aim = await alice.evaluate((bobId) => {
      const { playerId, players, view } = window.skirmishDebug();
      const me = players.find((p) => p.id === playerId);
      const target = players.find((p) => p.id === bobId);
      const length = Math.hypot(target.x - me.x, target.y - me.y) || 1;
      // Where our ship is on the canvas, as a fraction of it, and a point 200 units toward Bob.
      const toCanvas = (x, y) => ({ fx: (x - view.x) / view.width, fy: (y - view.y) / view.height });
      return toCanvas(me.x + (target.x - me.x) / length * 200, me.y + (target.y - me.y) / length * 200);
    }, (await debug(bob)).playerId);
    await alice.mouse.click(box.x + box.width * Math.min(Math.max(aim.fx, 0.02), 0.98),
      box.y + box.height * Math.min(Math.max(aim.fy, 0.02), 0.98));
    const shots = await waitFor(bob, 'Bob to see Alice fire',
      (before) => window.skirmishDebug().shotsSeen > before && window.skirmishDebug().shotsSeen, shotsBefore);
    console.log(`Bob has seen ${shots} shot(s)`);

    // Alice chats, with markup that must stay text.
    const line = 'hello from Alice <b>bold</b> <img src=x onerror=alert(1)>';
    await alice.fill('#chat-input', line);
    await alice.press('#chat-input', 'Enter');
    await waitFor(bob, 'Bob to receive the chat line', (text) =>
      [...document.querySelectorAll('#chat-log .chat-line')].some((el) => el.textContent.includes(text)), line);
    const markup = await bob.evaluate(() => document.querySelectorAll('#chat-log b, #chat-log img').length);
    assert.equal(markup, 0, 'chat is rendered as text, never as HTML');
    assert.ok((await debug(bob)).chat.some((l) => l.includes('hello from Alice')), 'the chat line is in Bob\'s log');

    // The HUD shows ping, FPS and the server's version; the canvas shows a drawn arena, not a
    // blank surface.
    await bob.waitForTimeout(1200);
    const hud = await bob.textContent('#hud');
    assert.match(hud, /ping/i, `the HUD shows ping: ${hud}`);
    assert.match(hud, /fps/i, `the HUD shows FPS: ${hud}`);
    assert.match(hud, /server \d+\.\d+\.\d+, protocol \d+/, `the HUD shows the server's version: ${hud}`);

    // The camera never shows void beyond the map (the arena is larger than the view), and the
    // minimap in the corner shows the arena with our own ship as a yellow dot. Alice has moved
    // out of her corner; Bob waits in his, where the minimap fades over his ship.
    for (const [name, page] of [['Alice', alice], ['Bob', bob]]) {
      const { view, map, minimap } = await debug(page);
      console.log(`${name}'s view ${JSON.stringify(view)} of map ${JSON.stringify(map)}, minimap ${JSON.stringify(minimap)}`);
      assert.ok(view.x >= -0.5 && view.y >= -0.5 && view.x + view.width <= map.width + 0.5
        && view.y + view.height <= map.height + 0.5, `${name}'s camera stays on the map`);
      const drawn = await page.evaluate((rect) => {
        const canvas = document.querySelector('canvas#game');
        const dpr = canvas.width / canvas.clientWidth;
        const [x, y, w, h] = [rect.x, rect.y, rect.width, rect.height].map((v) => Math.round(v * dpr));
        const { data } = canvas.getContext('2d').getImageData(x + 2, y + 2, w - 4, h - 4);
        const colours = new Set();
        let yellow = 0;
        for (let i = 0; i < data.length; i += 4) {
          colours.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
          if (data[i] > 240 && Math.abs(data[i + 1] - 212) < 12 && data[i + 2] < 110) yellow += 1;
        }
        return { colours: colours.size, yellow };
      }, minimap);
      console.log(`${name}'s minimap: ${JSON.stringify(drawn)}`);
      assert.ok(drawn.colours >= 3, `${name}'s minimap shows the arena: ${JSON.stringify(drawn)}`);
      // In a corner of the map our ship is drawn under the minimap, which then fades.
      if (!minimap.faded) assert.ok(drawn.yellow > 0, `${name}'s minimap shows the ship: ${JSON.stringify(drawn)}`);
    }
    await alice.screenshot({ path: join(artifacts, 'alice.png') });
    await bob.screenshot({ path: join(artifacts, 'bob.png') });
    for (const [name, page] of [['Alice', alice], ['Bob', bob]]) {
      const variety = await canvasVariety(page);
      console.log(`${name}'s canvas ${variety.width}x${variety.height}: ${variety.colours} colours, ${(variety.differing * 100).toFixed(1)}% drawn`);
      assert.ok(variety.colours >= 4 && variety.differing > 0.02, `${name}'s canvas is not blank: ${JSON.stringify(variety)}`);
    }
    assert.deepEqual(aliceErrors, [], 'no console errors on Alice\'s page');
    assert.deepEqual(bobErrors, [], 'no console errors on Bob\'s page');
    console.log(`screenshots saved in ${artifacts}`);
  } finally {
    await tearDown(browsers, server, dataDir);
  }
});

/** The rows of the lobby's leaderboard as text. */
const boardRows = (page) => page.evaluate(() =>
  [...document.querySelectorAll('#leaderboard .board-row')].map((row) => row.textContent));

test('lobby: a private room by link, quick play, the leaderboard, and a restart', { timeout: 180_000 }, async () => {
  mkdirSync(artifacts, { recursive: true });
  const maps = duelMaps(true);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'skirmish-e2e-data-'));
  let server = await startServer(port, dataDir, join(maps, 'arena.json'));
  const url = `http://127.0.0.1:${port}/`;
  const browsers = [await launchBrowser(), await launchBrowser(), await launchBrowser()];
  try {
    const [alice, bob, carol] = await Promise.all(browsers.map((b) => b.context.newPage()));
    const errors = [alice, bob, carol].map(watchErrors);

    // Alice creates a private room on the duel map and reads its link.
    await alice.goto(url);
    await waitFor(alice, 'the map choices', () => document.querySelectorAll('#room-map option').length >= 2);
    await alice.fill('#name-input', 'Alice');
    await alice.click('#create-room summary');
    await alice.fill('#room-title', 'Secret base');
    await alice.selectOption('#room-map', 'duel');
    await alice.uncheck('#room-public');
    await alice.screenshot({ path: join(artifacts, 'lobby-create.png') });
    await alice.click('#create-button');
    await waitFor(alice, 'Alice to join her room', () => window.skirmishDebug?.().state === 'joined');
    const room = (await debug(alice)).room;
    console.log(`Alice's room: ${JSON.stringify(room)}`);
    assert.equal(room.map, 'duel');
    assert.match(room.invite ?? '', /^\/r\/[a-z2-9]{10}$/, 'a private room has a share link');
    assert.match(await alice.textContent('#invite'), new RegExp(`${room.invite}$`), 'the room bar shows the link');
    assert.equal(new URL(alice.url()).pathname, room.invite, 'the address bar shows the link too');

    // Bob opens the link with a fresh browser: the lobby asks his name, then he is in her room.
    await bob.goto(`http://127.0.0.1:${port}${room.invite}`);
    assert.equal(await bob.inputValue('#code-input'), room.invite.slice(3), 'the code is filled in');
    await bob.fill('#name-input', 'Bob');
    await bob.click('#join-button');
    await waitFor(bob, 'Bob to join through the link', () => window.skirmishDebug?.().state === 'joined');
    assert.equal((await debug(bob)).room.id, room.id, 'Bob lands in Alice\'s room');
    await waitFor(alice, 'Alice to see Bob', () => window.skirmishDebug().players.length === 2);

    // Carol quick-plays: a public room, never the private one.
    await carol.goto(url);
    await carol.fill('#name-input', 'Carol');
    await carol.click('#join-button');
    await waitFor(carol, 'Carol to quick-play', () => window.skirmishDebug?.().state === 'joined');
    const carolRoom = (await debug(carol)).room;
    assert.notEqual(carolRoom.id, room.id, 'quick play never picks a private room');
    assert.equal(carolRoom.invite, null, 'a public room needs no invite');

    // Alice holds the trigger on Bob until he is destroyed (4 hits).
    await shootUntilKilled(alice, bob, (await debug(bob)).playerId, 'Alice ✸ Bob');
    await alice.screenshot({ path: join(artifacts, 'private-room.png') });

    // Both go back to the lobby and see the kill on the leaderboard, all time and this week.
    for (const [name, page] of [['Alice', alice], ['Bob', bob]]) {
      await page.click('#leave-button');
      await waitFor(page, `${name}'s lobby to show the kill`, () =>
        [...document.querySelectorAll('#leaderboard .board-row')].some((r) => r.textContent.includes('Alice') && r.textContent.includes('1 / 0')));
    }
    await waitFor(alice, 'Alice\'s career line', () => /1 kills \/ 0 deaths/.test(document.querySelector('#career').textContent));
    await bob.click('#board-week');
    await waitFor(bob, 'the 7-day board', () =>
      document.querySelector('#board-week').classList.contains('active')
      && [...document.querySelectorAll('#leaderboard .board-row')].some((r) => r.textContent.includes('Alice')));
    await waitFor(alice, 'Carol\'s room in the list', (id) =>
      [...document.querySelectorAll('#room-list .room-join')].some((b) => b.dataset.room === id), carolRoom.id);
    const listed = await alice.evaluate(() => [...document.querySelectorAll('#room-list .room-join')].map((b) => b.dataset.room));
    assert.ok(!listed.includes(room.id), `the private room is not listed: ${listed}`);
    await alice.screenshot({ path: join(artifacts, 'lobby.png') });

    // A restart keeps the leaderboard and Bob's name (his browser forgot it; the server did not).
    // Carol is still playing: told 1012, her page asks the lobby for a new seat, backing off
    // while the server is down, and is seated again once it is back.
    await stopServer(server);
    server = await startServer(port, dataDir, join(maps, 'arena.json'));
    await waitFor(carol, 'Carol seated again after the restart', () => window.skirmishDebug?.().state === 'joined');
    await bob.evaluate(() => localStorage.clear());
    await bob.goto(url);
    await waitFor(bob, 'Bob\'s name from the server', () => document.querySelector('#name-input').value === 'Bob');
    await waitFor(bob, 'the leaderboard after the restart', () =>
      [...document.querySelectorAll('#leaderboard .board-row')].some((r) => r.textContent.includes('Alice') && r.textContent.includes('1 / 0')));
    console.log(`leaderboard after the restart: ${JSON.stringify(await boardRows(bob))}`);
    await bob.screenshot({ path: join(artifacts, 'lobby-after-restart.png') });

    // Refusals are explained in the page: a bad name, a code that is no room.
    await bob.fill('#name-input', 'admin');
    await bob.click('#join-button');
    await waitFor(bob, 'the reserved-name message', () => document.querySelector('#join-error').textContent.includes('reserved'));
    await bob.fill('#name-input', 'Bob');
    await bob.fill('#code-input', 'nosuchroom');
    await bob.click('#code-button');
    await waitFor(bob, 'the unknown-code message', () => document.querySelector('#join-error').textContent.includes('No room'));
    // The unknown code's 404, which Chromium also logs as a failed resource, is expected.
    const expected404 = (e) => /HTTP 404: .*\/api\/rooms\/nosuchroom\/join/.test(e)
      || e === 'console: Failed to load resource: the server responded with a status of 404 (Not Found)';
    assert.equal(errors[1].filter(expected404).length, 2, `the code's 404, once: ${errors[1]}`);
    // Carol's page asked while the server was down (the restart): those refusals are expected.
    const refused = (e) => /net::ERR_CONNECTION_REFUSED/.test(e);
    for (const [name, list] of [['Alice', errors[0]], ['Bob', errors[1].filter((e) => !expected404(e))], ['Carol', errors[2].filter((e) => !refused(e))]]) {
      assert.deepEqual(list, [], `no console errors on ${name}'s page`);
    }
  } finally {
    await tearDown(browsers, server, dataDir);
    rmSync(maps, { recursive: true, force: true });
  }
});

/** A private `redis-server` on a free port of 127.0.0.1, without persistence. */
async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const up = await new Promise((ok) => {
      const socket = createConnection({ port, host: '127.0.0.1' }, () => { socket.end(); ok(true); });
      socket.once('error', () => ok(false));
    });
    if (up) return { child, url: `redis://127.0.0.1:${port}/` };
    if (Date.now() > deadline) throw new Error('redis-server did not start');
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

const playersOn = async (port) => (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).players;

test('cluster: a link on one process seats the player on another; a drain sends players through the lobby', { timeout: 180_000 }, async () => {
  mkdirSync(artifacts, { recursive: true });
  const redis = await startRedis();
  // Process ids decide ties of the least loaded process: `e2e-1` (B) wins them. Both drain
  // for up to two seconds (`startServer`'s default).
  const cluster = (id) => ['--redis-url', redis.url, '--session-secret', 'e2e cluster secret',
    '--process-id', id];
  const [portA, portB] = [await freePort(), await freePort()];
  const dataA = mkdtempSync(join(tmpdir(), 'skirmish-e2e-a-'));
  const dataB = mkdtempSync(join(tmpdir(), 'skirmish-e2e-b-'));
  const serverA = await startServer(portA, dataA, undefined, cluster('e2e-2'));
  let serverB = await startServer(portB, dataB, undefined, cluster('e2e-1'));
  const [urlA, urlB] = [`http://127.0.0.1:${portA}/`, `http://127.0.0.1:${portB}/`];
  const browsers = [await launchBrowser(), await launchBrowser(), await launchBrowser()];
  try {
    const [alice, bob, carol] = await Promise.all(browsers.map((b) => b.context.newPage()));
    const errors = [bob, carol].map(watchErrors);
    for (let tries = 0; ; tries += 1) {
      const listed = (await (await fetch(`${urlA}api/cluster`)).json()).processes?.length;
      if (listed === 2) break;
      assert.ok(tries < 100, 'both processes register');
      await new Promise((ok) => setTimeout(ok, 100));
    }

    // Alice, on B's page, creates a private room; Bob opens its link on A's page.
    await alice.goto(urlB);
    await alice.fill('#name-input', 'Alice');
    await alice.click('#create-room summary');
    await alice.fill('#room-title', 'Across');
    await alice.uncheck('#room-public');
    await alice.click('#create-button');
    await waitFor(alice, 'Alice to join her room', () => window.skirmishDebug?.().state === 'joined');
    const room = (await debug(alice)).room;
    await bob.goto(`${urlA.slice(0, -1)}${room.invite}`);
    await bob.fill('#name-input', 'Bob');
    await bob.click('#join-button');
    await waitFor(bob, 'Bob to follow the link to B', () => window.skirmishDebug?.().state === 'joined');
    assert.equal((await debug(bob)).room.id, room.id, 'Bob is in Alice\'s room');
    await waitFor(alice, 'Alice to see Bob', () => window.skirmishDebug().players.length === 2);
    assert.deepEqual([await playersOn(portA), await playersOn(portB)], [0, 2], 'both play on B');
    await bob.screenshot({ path: join(artifacts, 'cluster-link.png') });

    // Carol quick-plays on A's page: a new room opens on the least loaded process, A (B holds
    // two players).
    await carol.goto(urlA);
    await carol.fill('#name-input', 'Carol');
    await carol.click('#join-button');
    await waitFor(carol, 'Carol to quick-play', () => window.skirmishDebug?.().state === 'joined');
    assert.equal(await playersOn(portA), 1, 'Carol plays on A');

    // Alice leaves her room for B's lobby and watches Carol's room, which runs on A: the page
    // opens A's own page for it, and there she sees Carol.
    await alice.click('#leave-button');
    await waitFor(alice, 'Carol\'s room in B\'s lobby', () =>
      [...document.querySelectorAll('#room-list .room-watch')].some((b) => b.dataset.watchUrl));
    await alice.click('#room-list .room-watch');
    await waitFor(alice, 'Alice watching on A', () => window.skirmishDebug?.().watching && window.skirmishDebug().state === 'joined');
    assert.equal(new URL(alice.url()).port, String(portA), 'the page moved to A');
    await waitFor(alice, 'Alice to see Carol', () => window.skirmishDebug().players.some((p) => p.name === 'Carol'));
    assert.equal(await playersOn(portA), 1, 'a spectator is not a player');

    // B drains: Bob (whose page is A's) is told 1012 and asks A's lobby again; his private room
    // is going away with B, so the lobby says so instead of sending him back to B.
    const drained = new Promise((ok) => serverB.child.once('exit', (code) => ok(code)));
    serverB.child.kill('SIGTERM');
    await waitFor(bob, 'Bob back in the lobby, told why', () =>
      window.skirmishDebug?.().state !== 'joined'
      && /No room has that code/.test(document.querySelector('#join-error').textContent));
    assert.equal(await drained, 0, 'B exits 0 after draining');
    serverB = null;
    // A kept playing: Carol is still there.
    assert.equal((await debug(carol)).state, 'joined', 'Carol plays on');
    // Bob quick-plays: A is the only process left.
    await bob.click('#join-button');
    await waitFor(bob, 'Bob to quick-play on A', () => window.skirmishDebug?.().state === 'joined');
    assert.equal(await playersOn(portA), 2, 'Bob and Carol on A');
    await bob.screenshot({ path: join(artifacts, 'cluster-after-drain.png') });
    const expected = (e) => /HTTP 404: .*\/api\/rooms\/[a-z0-9]+\/join/.test(e)
      || e === 'console: Failed to load resource: the server responded with a status of 404 (Not Found)';
    for (const [name, list] of [['Bob', errors[0].filter((e) => !expected(e))], ['Carol', errors[1]]]) {
      assert.deepEqual(list, [], `no console errors on ${name}'s page`);
    }
  } finally {
    await tearDown(browsers, serverA, dataA);
    if (serverB) await stopServer(serverB);
    rmSync(dataB, { recursive: true, force: true });
    redis.child.kill('SIGKILL');
  }
});

/** Runs the bots binary against the server on `port` in `room` with `args`; resolves to its
 *  JSON report once it exits 0. */
async function runBots(port, room, args) {
  const child = spawn(botsBin, ['--url', `ws://127.0.0.1:${port}/ws`, '--room', room, '--no-server-metrics', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = ''; let log = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  child.stderr.on('data', (chunk) => { log += chunk; });
  const code = await new Promise((ok) => child.once('exit', ok));
  assert.equal(code, 0, `the bots exit 0:\n${log}`);
  return JSON.parse(out.trim().split('\n').pop());
}

/** A folder of maps: a small open one where two ships start in range of each other, and with
 *  `withArena` the shipped arena beside it (quick play then takes turns between the two). */
function duelMaps(withArena) {
  const maps = mkdtempSync(join(tmpdir(), 'skirmish-e2e-maps-'));
  writeFileSync(join(maps, 'duel.json'), JSON.stringify({
    id: 'duel', width: 900, height: 600, spawns: [[250, 300], [650, 300]], pickups: [],
  }));
  if (withArena) copyFileSync(join(root, 'assets/maps/arena.json'), join(maps, 'arena.json'));
  return maps;
}

/** `shooter` holds the trigger on player `targetId` until the kill feed of `victim` shows it. */
async function shootUntilKilled(shooter, victim, targetId, line) {
  const box = await shooter.locator('canvas#game').boundingBox();
  const target = await shooter.evaluate((id) => {
    const { players, view } = window.skirmishDebug();
    const ship = players.find((p) => p.id === id);
    return { fx: (ship.x - view.x) / view.width, fy: (ship.y - view.y) / view.height };
  }, targetId);
  await shooter.mouse.move(box.x + box.width * target.fx, box.y + box.height * target.fy);
  await shooter.mouse.down();
  await waitFor(victim, `the kill "${line}"`, (text) =>
    [...document.querySelectorAll('#killfeed .kill-line')].some((l) => l.textContent.includes(text)), line);
  await shooter.mouse.up();
}

test('spectators and replays: a spectator follows a player; the finished match is listed in the lobby and plays in the page', { timeout: 180_000 }, async () => {
  mkdirSync(artifacts, { recursive: true });
  const maps = duelMaps(false);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'skirmish-e2e-data-'));
  let server = await startServer(port, dataDir, join(maps, 'duel.json'));
  const url = `http://127.0.0.1:${port}/`;
  const browsers = [await launchBrowser(), await launchBrowser(), await launchBrowser()];
  try {
    const [alice, bob, viewer] = await Promise.all(browsers.map((b) => b.context.newPage()));
    await joinGame(alice, url, 'Alice');
    await joinGame(bob, url, 'Bob');
    const room = (await debug(alice)).room;
    await shootUntilKilled(alice, bob, (await debug(bob)).playerId, 'Alice ✸ Bob');
    // Bob's respawn wait replays his last seconds, following Alice.
    assert.match(await bob.textContent('#banner'), /Destroyed by Alice/, 'the kill-cam names the killer');
    await bob.screenshot({ path: join(artifacts, 'killcam.png') });

    // A spectator watches the room through its link: no ship, both players in view, Tab follows
    // Alice, who moves; the players never see the spectator.
    const viewerErrors = watchErrors(viewer);
    await viewer.goto(`http://127.0.0.1:${port}/r/${room.id}?spectate`);
    await waitFor(viewer, 'the spectator to watch', () => window.skirmishDebug?.().state === 'joined' && window.skirmishDebug().watching);
    const watched = await waitFor(viewer, 'both players in the spectator\'s view', () => {
      const d = window.skirmishDebug();
      return d.players.length === 2 ? d : null;
    });
    assert.ok(!watched.players.some((p) => p.id === watched.playerId), 'the spectator has no ship');
    assert.equal(await viewer.isVisible('#chat-input'), false, 'a spectator does not chat');
    const aliceId = (await debug(alice)).playerId;
    for (let i = 0; i < 3 && (await debug(viewer)).followed !== aliceId; i += 1) {
      await viewer.keyboard.press('Tab');
    }
    assert.equal((await debug(viewer)).followed, aliceId, 'Tab follows Alice');
    const before = (await debug(viewer)).players.find((p) => p.id === aliceId);
    await alice.keyboard.down('KeyS');
    await alice.waitForTimeout(700);
    await alice.keyboard.up('KeyS');
    const after = await waitFor(viewer, 'the spectator to see Alice move', ([id, y0]) => {
      const p = window.skirmishDebug().players.find((q) => q.id === id);
      return p && p.y - y0 > 60 ? p : null;
    }, [aliceId, before.y]);
    console.log(`the spectator saw Alice move from y=${before.y.toFixed(1)} to y=${after.y.toFixed(1)}`);
    assert.equal((await debug(alice)).players.length, 2, 'the players see two ships, no spectator');
    await viewer.screenshot({ path: join(artifacts, 'spectator.png') });
    assert.deepEqual(viewerErrors, [], 'no console errors on the spectator\'s page');

    // Bots crowd the room for a while, coming and going and chasing each other: the replay
    // then holds joins, leaves, deaths and three 10-second chunks to check.
    const report = await runBots(port, room.id, ['--count', '6', '--duration', '15', '--churn', '20', '--behavior', 'chase']);
    assert.equal(report.connected, 6, `every bot played: ${JSON.stringify(report)}`);

    // The room's match ends with the server (a room is recorded from open to close); the next
    // server lists its replay.
    await stopServer(server);
    server = await startServer(port, dataDir, join(maps, 'duel.json'));
    const errors = watchErrors(viewer);
    viewerErrors.length = 0;
    await viewer.goto(url);
    await waitFor(viewer, 'the replay in the lobby', () => document.querySelectorAll('#replay-list .replay-watch').length > 0);
    await viewer.screenshot({ path: join(artifacts, 'lobby-replays.png') });
    const listed = await viewer.textContent('#replay-list .replay-row');
    assert.ok(listed.includes(room.title || 'main') && listed.includes('duel'), `the row names the room and map: ${listed}`);
    await viewer.click('#replay-list .replay-watch');
    await waitFor(viewer, 'the replay to load', () => window.skirmishDebug?.().replay?.loaded);
    assert.match(new URL(viewer.url()).pathname, /^\/replay\/[A-Za-z0-9-]+$/);
    assert.equal(await viewer.isVisible('#join-form'), false, 'the lobby gives way to the replay');
    const start = (await debug(viewer)).replay;
    console.log(`replay: ${JSON.stringify(start)}`);
    await waitFor(viewer, 'both ships on screen', () => window.skirmishDebug().replay.ships === 2);
    assert.ok(start.duration > 20, `the match includes the bots' time: ${start.duration} s`);

    // Playing advances at the chosen speed; the slider seeks; a moment has a link.
    await viewer.selectOption('#replay-speed', '2');
    await viewer.waitForTimeout(1000);
    const later = (await debug(viewer)).replay;
    assert.ok(later.time - start.time > 1.2, `×2 plays faster than the clock: ${start.time} → ${later.time}`);
    await viewer.click('#replay-play');
    await waitFor(viewer, 'pause', () => !window.skirmishDebug().replay.playing);
    // Playing to the end in wasm checks the server's fingerprint at every chunk.
    await viewer.evaluate(() => {
      const seek = document.querySelector('#replay-seek');
      seek.value = seek.max;
      seek.dispatchEvent(new Event('input'));
      seek.dispatchEvent(new Event('change'));
    });
    const end = await waitFor(viewer, 'the end of the match', () => {
      const r = window.skirmishDebug().replay;
      return r.time >= r.duration - 0.05 ? r : null;
    });
    assert.equal(end.error, null, 'the wasm simulation reproduced the live match to its end');
    const board = await viewer.textContent('#scoreboard');
    assert.match(board, /Alice\s*1 \/ \d+/, `the replay's scoreboard at the end has Alice's kill: ${board}`);
    await viewer.click('#replay-share');
    const link = await viewer.inputValue('#replay-link');
    assert.match(link, /\/replay\/[A-Za-z0-9-]+\?t=\d+(\.\d)?$/, `a link to this moment: ${link}`);

    // Back to the kill: seek into the middle, follow Alice with Tab, and see her ship.
    const middle = Math.max(0, end.duration / 2);
    await viewer.goto(link.replace(/\?t=.*$/, `?t=${middle.toFixed(1)}`));
    const opened = await waitFor(viewer, 'the replay at ?t=', () => window.skirmishDebug?.().replay?.loaded && window.skirmishDebug().replay);
    assert.ok(Math.abs(opened.time - middle) < 1.5, `opened near ${middle}: ${opened.time}`);
    await viewer.keyboard.press('Tab');
    await waitFor(viewer, 'a followed player', () => window.skirmishDebug().replay.followed !== null);
    await viewer.waitForTimeout(300);
    const variety = await canvasVariety(viewer);
    assert.ok(variety.colours > 8 && variety.differing > 0.5, `the replay is drawn: ${JSON.stringify(variety)}`);
    await viewer.screenshot({ path: join(artifacts, 'replay.png') });

    // A replay that does not exist says so in the page.
    await viewer.goto(`http://127.0.0.1:${port}/replay/no-such-replay`);
    await waitFor(viewer, 'the missing replay\'s message', () => !document.querySelector('#replay-error').hidden);
    assert.match(await viewer.textContent('#replay-error'), /no such replay/);
    const expected404 = (e) => /\/api\/replays\/no-such-replay/.test(e)
      || e === 'console: Failed to load resource: the server responded with a status of 404 (Not Found)'
      || /no such replay/.test(e);
    assert.deepEqual(errors.filter((e) => !expected404(e)), [], 'no console errors on the replay page');
  } finally {
    await tearDown(browsers, server, dataDir);
    rmSync(maps, { recursive: true, force: true });
  }
});
