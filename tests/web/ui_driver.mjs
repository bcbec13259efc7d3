// Drives the berth web UI in Debian's Chromium for tests/e2e/test_ui.py, one step at a time:
// each line on stdin is a JSON step ({"step": "create", "name": ..., ...}); each answer is one
// JSON line on stdout ({"ok": true, ...} or {"ok": false, "error": ..., "screenshot": ...}).
// Steps act as a user does (labels, buttons, the keyboard) and wait on what the page shows,
// each with a deadline; every step leaves a screenshot in BERTH_ARTIFACTS.
//
// Environment: BERTH_URL (the server, e.g. http://127.0.0.1:7070), BERTH_ARTIFACTS (a folder).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const base = process.env.BERTH_URL;
const artifacts = process.env.BERTH_ARTIFACTS;
const STEP_TIMEOUT = 30_000;
fs.mkdirSync(artifacts, { recursive: true });

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true });
// Over HTTPS the certificate is the cluster's own CA's, which this browser profile does not know
// (the tests check that certificate with the CA file elsewhere).
const page = await browser.newPage({
  viewport: { width: 1366, height: 900 },
  ignoreHTTPSErrors: base.startsWith('https:'),
});
page.setDefaultTimeout(STEP_TIMEOUT);
const pageErrors = [];  // uncaught exceptions in the page: a test fails on any
page.on('pageerror', (e) => pageErrors.push(String(e && e.stack || e)));

let shots = 0;
async function shot(name) {
  shots += 1;
  const file = path.join(artifacts, `${String(shots).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

const main = page.locator('#main');
const text = async (locator) => (await locator.textContent() || '').trim();
// Waits until the element shows some text, and returns it.
async function nonEmpty(locator, timeout = STEP_TIMEOUT) {
  await locator.filter({ hasText: /\S/ }).waitFor({ timeout });
  return text(locator);
}

async function onDatabasesList() {
  await page.getByRole('heading', { name: 'Databases', exact: true, level: 1 }).waitFor();
  await page.locator('#database-list').filter({ hasNotText: 'Loading…' }).waitFor();
}

const steps = {
  // Opens a UI address; expect "signed-in" (the databases page) or "sign-in" (the form, with
  // the message that sent the user there).
  async open({ path: where, expect, shot: name }) {
    await page.goto(base + where);
    if (expect === 'sign-in') {
      const error = await nonEmpty(page.locator('#sign-in-error'));
      await page.getByLabel('Token', { exact: true }).waitFor();
      return { url: page.url(), error, screenshot: await shot(name || 'sign-in') };
    }
    await onDatabasesList();
    return { url: page.url(), screenshot: await shot(name || 'signed-in') };
  },

  // Fills the new-database form and submits it; expect "created" or "error" (its text).
  async create({ name, memory, engine, expect, submit }) {
    if (engine) await page.getByLabel('Engine').selectOption(engine);
    await page.getByLabel('Name', { exact: true }).fill(name);
    const memoryField = page.getByLabel('Memory', { exact: true });
    await memoryField.fill(memory);
    if (submit === 'enter') await memoryField.press('Enter');
    else await page.getByRole('button', { name: 'Create', exact: true }).click();
    if (expect === 'error') {
      const error = await nonEmpty(page.locator('#create-error'));
      return { error, screenshot: await shot(`create-${name}-error`) };
    }
    const result = await nonEmpty(page.locator('#create-result'), 90_000);
    return { result, screenshot: await shot(`create-${name}`) };
  },

  // Waits until the databases list shows the database in the given state.
  async wait_state({ name, state, timeout }) {
    await page.locator(`tr[data-database="${name}"] td.state`, { hasText: new RegExp(`^\\s*${state}\\s*$`) })
      .waitFor({ timeout: timeout || 90_000 });
    const row = await text(page.locator(`tr[data-database="${name}"]`));
    return { row, screenshot: await shot(`${name}-${state}`) };
  },

  // Follows the database's link and waits for all its instances to be healthy.
  async open_database({ name }) {
    await page.getByRole('link', { name, exact: true }).first().click();
    await page.locator('h1 #db-name', { hasText: new RegExp(`^${name}$`) }).waitFor();
    const states = page.locator('#db-instances tr[data-instance] td.state');
    await states.first().waitFor();
    await page.waitForFunction(() => {
      const cells = [...document.querySelectorAll('#db-instances tr[data-instance] td.state')];
      return cells.length > 0 && cells.every((c) => c.textContent.trim() === 'healthy');
    }, null, { timeout: 60_000 });
    const log = await nonEmpty(page.locator('#db-log'), 60_000);
    return { facts: await text(page.locator('#db-facts')), log, screenshot: await shot(`${name}-page`) };
  },

  // Types a new memory size into the resize form and submits it with Enter.
  async resize({ memory, timeout }) {
    const input = page.getByLabel('Memory', { exact: true });
    await input.fill(memory);
    await input.press('Enter');
    const result = page.locator('#action-result');
    await result.filter({ hasText: /Memory is now|Memory set to/ }).or(page.locator('#action-error').filter({ hasText: /\S/ }))
      .waitFor({ timeout: timeout || 90_000 });
    const error = await text(page.locator('#action-error'));
    if (error) return { error, screenshot: await shot('resize-error') };
    const shownMemory = await text(page.locator('#db-memory'));
    return { result: await text(result), memory: shownMemory, screenshot: await shot('resized') };
  },

  // Deletes the open database through its confirmation dialog (typing its name, then Enter).
  async delete({ name }) {
    await page.getByRole('button', { name: 'Delete database' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const confirm = dialog.getByRole('button', { name: 'Delete', exact: true });
    const disabledBefore = await confirm.isDisabled();
    const typed = dialog.getByLabel(`Type ${name} to confirm`);
    await typed.fill(name);
    await shot(`delete-${name}-confirm`);
    await typed.press('Enter');
    await page.waitForURL(/#\/databases$/, { timeout: 60_000 });
    await onDatabasesList();
    await page.locator(`tr[data-database="${name}"]`).waitFor({ state: 'detached' });
    const notice = await nonEmpty(main.locator('.notice').first());
    return { disabled_before_typing: disabledBefore, notice, url: page.url(), screenshot: await shot(`deleted-${name}`) };
  },

  // Opens a page from the navigation and waits for its data.
  async visit({ page: which }) {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: which, exact: true }).click();
    const ready = {
      Databases: () => onDatabasesList(),
      Hosts: () => page.locator('tr[data-host]').first().waitFor(),
      Tasks: () => page.locator('#task-list').filter({ hasNotText: 'Loading…' }).waitFor(),
      Network: () => page.waitForFunction(() => {
        const subnet = document.getElementById('net-subnet');
        return subnet !== null && subnet.value !== '';
      }),
      Events: () => page.locator('#event-list').filter({ hasNotText: 'Loading…' }).waitFor(),
    }[which];
    await ready();
    const current = await page.locator('nav a[aria-current="page"]').textContent();
    const extra = which === 'Network' ? { subnet: await page.getByLabel('Subnet').inputValue() } : {};
    return { current, text: await text(main), ...extra, screenshot: await shot(which.toLowerCase()) };
  },

  // What the header offers: the visible navigation links, who is signed in, the project selector.
  async nav() {
    await page.locator('#who').filter({ hasText: /\S/ }).waitFor();
    const links = await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').evaluateAll(
      (as) => as.filter((a) => a.offsetParent !== null).map((a) => a.textContent.trim()));
    const selector = await page.locator('#project-select').isVisible();
    return { links, who: await text(page.locator('#who')), selector, screenshot: await shot('nav') };
  },

  // Makes a token on the Tokens page: its secret as the page shows it, once.
  async create_token({ role, name }) {
    await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Tokens', exact: true }).click();
    await page.locator('#token-list').filter({ hasNotText: 'Loading…' }).waitFor();
    await page.getByLabel('Role').selectOption(role);
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await nonEmpty(page.locator('#token-secret'));
    const id = secret.split('.')[0];
    await page.locator(`tr[data-token="${id}"]`).waitFor();
    return { secret, id, screenshot: await shot('token-created') };
  },

  async sign_out() {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token', { exact: true }).waitFor();
    const stored = await page.evaluate(() => sessionStorage.length + localStorage.length);
    return { stored, screenshot: await shot('signed-out') };
  },

  async sign_in({ token }) {
    const field = page.getByLabel('Token', { exact: true });
    await field.fill(token);
    await field.press('Enter');
    await onDatabasesList();
    return { url: page.url(), screenshot: await shot('signed-in-by-form') };
  },

  async quit() {
    return { page_errors: pageErrors };
  },
};

const say = (answer) => process.stdout.write(JSON.stringify(answer) + '\n');
say({ ok: true, ready: true, browser: browser.version() });

for await (const line of readline.createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  const run = steps[request.step];
  if (!run) {
    say({ ok: false, error: `unknown step ${request.step}` });
    continue;
  }
  const started = Date.now();
  try {
    say({ ok: true, ...(await run(request)), page_errors: pageErrors });
    console.error(`${request.step}: ${Date.now() - started} ms`);
  } catch (e) {
    console.error(`${request.step}: failed after ${Date.now() - started} ms: ${e && e.stack || e}`);
    let screenshot = null;
    try { screenshot = await shot(`FAILED-${request.step}`); } catch { /* the page is gone */ }
    say({ ok: false, error: String(e && e.message || e), screenshot, page_errors: pageErrors });
  }
  if (request.step === 'quit') break;
}
await browser.close();
process.exit(0);  // stdin may still hold the event loop open
