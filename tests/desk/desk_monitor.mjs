// Drives a monitor's `temoin desk` in Debian's chromium: unlock, type a testimony into
// the form (an invalid date first, which the form must refuse as `record` does), with a
// named victim and coordinates; save it as a draft, start afresh, reopen the draft,
// attach a photo from the file picker, seal it, read the outbox, sync. Prints what it saw as one JSON object; desk_browser_test.cc
// checks it. Environment: DESK_URL, DESK_PASSPHRASE, DESK_SHOTS, DESK_PROFILE,
// DESK_BAD_DATE, DESK_PHOTO (a JPEG to attach), and DESK_TESTIMONY: {date, region,
// locality, acts: [code], perpetrators: [code], women, girls, source, narrative,
// victim: {name, sex, age_group}, latitude, longitude, precision_m}.
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

  // A named victim (with the keyboard: the button, then the new row's name field has
  // the focus) and the coordinates.
  await page.getByTestId('t-add-victim').focus();
  await page.keyboard.press('Enter');
  await page.keyboard.type(t.victim.name);
  await page.selectOption('[data-testid=t-victim] [data-field=sex]', t.victim.sex);
  await page.selectOption('[data-testid=t-victim] [data-field=age_group]', t.victim.age_group);
  await page.getByTestId('t-lat').fill(String(t.latitude));
  await page.getByTestId('t-lon').fill(String(t.longitude));
  done = await checked();
  await page.getByTestId('t-precision').fill(String(t.precision_m));
  await done();
  out.error_with_victim = await page.getByTestId('t-error').textContent();
  await page.screenshot({ path: `${shots}/0-monitor-form.png`, fullPage: true });

  // Saved as a draft, the form cleared, the draft opened again: every field is back.
  await page.click('#t-draft');
  await page.locator('[data-testid=t-result][data-state=draft]').waitFor();
  const draftId = await page.getAttribute('[data-testid=t-result]', 'data-id');
  await page.waitForFunction(() => document.getElementById('draft-list').dataset.count === '1');
  await page.click('#new-blank');
  out.locality_after_blank = await page.getByTestId('t-locality').inputValue();
  await page.click(`[data-testid=draft][data-id="${draftId}"] button`);
  await page.locator(`[data-testid=editing][data-id="${draftId}"]`).waitFor();
  out.reopened = {
    locality: await page.getByTestId('t-locality').inputValue(),
    narrative: await page.getByTestId('t-narrative').inputValue(),
    victim: await page.inputValue('[data-testid=t-victim] [data-field=name]'),
    victim_sex: await page.inputValue('[data-testid=t-victim] [data-field=sex]'),
    latitude: Number(await page.getByTestId('t-lat').inputValue()),
    acts: await page.locator('#t-acts input:checked').evaluateAll((xs) => xs.map((x) => x.value)),
    girls: Number(await page.inputValue('#t-girls')),
  };
  await page.screenshot({ path: `${shots}/0-monitor-draft-open.png`, fullPage: true });
  await page.getByTestId('t-files').setInputFiles(env('DESK_PHOTO'));

  await page.getByTestId('seal').click();
  await page.locator('[data-testid=t-result][data-state=sealed]').waitFor();
  out.seal_text = await page.getByTestId('t-result').textContent();
  await page.waitForFunction(() => document.getElementById('draft-list').dataset.count === '0');
  out.drafts_after_seal = 0;
  out.sealed_id = await page.getAttribute('[data-testid=t-result]', 'data-id');
  await page.waitForFunction(() => document.getElementById('outbox').dataset.sealed === '1');
  out.outbox_sealed = 1;
  await page.screenshot({ path: `${shots}/0-monitor-sealed.png`, fullPage: true });
  await page.getByTestId('sync').click();
  await page.locator('[data-testid=sync-status][data-done]').waitFor();
  out.sync_result = await page.getAttribute('[data-testid=sync-status]', 'data-done');
  out.sync_text = await page.getByTestId('sync-status').textContent();
  // The progress came as Server-Sent Events: the first (the state before the sync) and
  // the "end" event after it.
  await page.locator('[data-testid=sync-status][data-ended]').waitFor();
  out.sync_events = Number(await page.getAttribute('[data-testid=sync-status]', 'data-events'));
  out.polled = out.urls.filter((u) => u.endsWith('/api/sync/progress')).length;
  await page.waitForFunction(() => document.getElementById('outbox').dataset.sealed === '0');
  await page.screenshot({ path: `${shots}/0-monitor-synced.png`, fullPage: true });
  out.closed = await page.evaluate(async () =>
    (await fetch('/api/close', { method: 'POST' })).status);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
