// Drives a monitor's `temoin desk` in Debian's chromium: unlock, type a testimony into
// the form (an invalid date first, which the form must refuse as `record` does), seal
// it, read the outbox. Prints what it saw as one JSON object; desk_browser_test.cc
// checks it. Environment: DESK_URL, DESK_PASSPHRASE, DESK_SHOTS, DESK_PROFILE,
// DESK_BAD_DATE, and DESK_TESTIMONY: {date, region, locality, acts: [code],
// perpetrators: [code], women, girls, source, narrative}.
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const t = JSON.parse(env('DESK_TESTIMONY'));
const shots = env('DESK_SHOTS');
const out = { urls: [], errors: [] };

const context = await chromium.launchPersistentContext(env('DESK_PROFILE'), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(15000);
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('request', (r) => out.urls.push(r.url()));
  page.on('pageerror', (e) => out.errors.push(String(e)));
  // The form's checks are numbered; wait for the one after the last change.
  const checked = async () => {
    const before = Number(await page.getAttribute('#t-error', 'data-checked') || 0);
    return async () => page.waitForFunction(
      (b) => Number(document.getElementById('t-error').dataset.checked || 0) > b, before);
  };

  await page.goto(env('DESK_URL'));
  await page.getByTestId('passphrase').fill(env('DESK_PASSPHRASE'));
  await page.getByTestId('unlock').click();
  // A monitor lands on the form, and sees no reviewer's page.
  await page.locator('#new-view').waitFor({ state: 'visible' });
  await page.locator('#outbox[data-sealed]').waitFor();
  out.reviewer_tabs_visible = await page.locator('a.reviewer-only:visible').count();

  // Every field as the test wants it, but a bad date: refused, with record's words.
  await page.getByTestId('t-date').fill(env('DESK_BAD_DATE'));
  await page.selectOption('#t-region', t.region);
  await page.getByTestId('t-locality').fill(t.locality);
  for (const act of t.acts) await page.check(`#t-acts-${act}`);
  for (const p of t.perpetrators) await page.check(`#t-perpetrators-${p}`);
  await page.fill('#t-women', String(t.women));
  await page.fill('#t-girls', String(t.girls));
  await page.selectOption('#t-source', t.source);
  await page.check('#t-informed');
  let done = await checked();
  await page.getByTestId('t-narrative').fill(t.narrative);
  await done();
  out.bad_date_error = await page.getByTestId('t-error').textContent();
  done = await checked();
  await page.getByTestId('t-date').fill(t.date);
  await done();
  out.error_before_seal = await page.getByTestId('t-error').textContent();
  await page.screenshot({ path: `${shots}/0-monitor-form.png`, fullPage: true });

  await page.getByTestId('seal').click();
  await page.locator('[data-testid=t-result][data-id]').waitFor();
  out.sealed_id = await page.getAttribute('[data-testid=t-result]', 'data-id');
  await page.waitForFunction(() => document.getElementById('outbox').dataset.sealed === '1');
  out.outbox_sealed = 1;
  await page.screenshot({ path: `${shots}/0-monitor-sealed.png`, fullPage: true });
  await page.getByTestId('sync').click();
  await page.locator('[data-testid=sync-status][data-done]').waitFor();
  out.sync_result = await page.getAttribute('[data-testid=sync-status]', 'data-done');
  out.sync_text = await page.getByTestId('sync-status').textContent();
  await page.waitForFunction(() => document.getElementById('outbox').dataset.sealed === '0');
  await page.screenshot({ path: `${shots}/0-monitor-synced.png`, fullPage: true });
  out.closed = await page.evaluate(async () =>
    (await fetch('/api/close', { method: 'POST' })).status);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
