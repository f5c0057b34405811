// Drives `temoin desk` in Debian's chromium with playwright-core, as a reviewer would,
// and prints what it saw as one JSON object on stdout; tests/desk/desk_browser_test.cc
// started the desk and checks every number against its own. No timing: each step
// waits for the page to show the state it expects (or fails at Playwright's timeout).
//
// Environment: DESK_URL (the address `temoin desk` printed), DESK_PASSPHRASE,
// DESK_SEARCH (a word that finds exactly one record), DESK_TOTAL (records on the desk),
// DESK_REGION (a region code to filter by) and DESK_REGION_COUNT (its records), DESK_SHOTS (directory for screenshots),
// DESK_PROFILE (a fresh, empty browser profile directory), DESK_DUPLICATE_ID (a record
// in a group of possible duplicates).
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const url = env('DESK_URL');
const passphrase = env('DESK_PASSPHRASE');
const total = env('DESK_TOTAL');
const shots = env('DESK_SHOTS');
const out = { urls: [], errors: [], console: [] };

const context = await chromium.launchPersistentContext(env('DESK_PROFILE'), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
  acceptDownloads: false,
});
context.setDefaultTimeout(15000);
// Pages of 4 rows (the page's own default is 200), so that the handful of records here
// take three pages and the "more" button is exercised.
const pageSize = 4;
await context.addInitScript((n) => { window.deskPageSize = n; }, pageSize);
out.page_size = pageSize;
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('request', (r) => out.urls.push(r.url()));
  page.on('pageerror', (e) => out.errors.push(String(e)));
  // The wrong passphrase and the call after locking are refused on purpose (401): the
  // console notes each; they are reported, not errors.
  page.on('console', (m) => { if (m.type() === 'error') out.console.push(m.text()); });
  const count = async (expected) => {
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid=record-count]').textContent === n, expected);
    return page.locator('[data-testid=record-row]').count();
  };

  await page.goto(url);
  out.url_after_token = page.url();
  await page.getByTestId('passphrase').waitFor({ state: 'visible' });
  await page.screenshot({ path: `${shots}/1-unlock.png`, fullPage: true });

  await page.getByTestId('passphrase').fill('not the passphrase');
  await page.getByTestId('unlock').click();
  await page.waitForFunction(() => document.getElementById('unlock-error').textContent !== '');
  out.wrong_passphrase_message = await page.locator('#unlock-error').textContent();

  await page.getByTestId('passphrase').fill(passphrase);
  await page.getByTestId('unlock').click();
  out.rows_first_page = await count(total);
  // The rest, page by page, with the keyboard alone: focus the button, press Enter.
  const more = page.getByTestId('more-records');
  for (let pages = 1; pages < 20 && await more.isVisible(); ++pages) {
    const before = await page.getByTestId('record-row').count();
    await more.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-testid=record-row]').length > n, before);
  }
  out.rows_all = await page.getByTestId('record-row').count();
  out.more_visible_at_end = await more.isVisible();
  await page.screenshot({ path: `${shots}/2-records.png`, fullPage: true });

  await page.getByTestId('search').fill(env('DESK_SEARCH'));
  out.rows_search = await count('1');
  out.search_id = await page.getByTestId('record-row').first().getAttribute('data-id');
  await page.screenshot({ path: `${shots}/3-search.png`, fullPage: true });

  await page.getByTestId('record-row').first().click();
  await page.waitForFunction(() => document.getElementById('record-narrative').textContent !== '');
  out.narrative = await page.locator('#record-narrative').textContent();
  const image = page.locator('#record-attachments img');
  out.images = await image.count();
  if (out.images > 0) {
    await page.waitForFunction(() => {
      const img = document.querySelector('#record-attachments img');
      return img.complete && img.naturalWidth > 0;
    });
    out.image_width = await image.first().evaluate((img) => img.naturalWidth);
  }
  await page.screenshot({ path: `${shots}/4-record.png`, fullPage: true });

  await page.goto(new URL('/#/records', url).toString());
  await page.getByTestId('search').fill('');
  await page.selectOption('#f-region', env('DESK_REGION'));
  out.rows_region = await count(env('DESK_REGION_COUNT'));
  out.export_csv_href = await page.getByTestId('export-csv').getAttribute('href');
  out.export_csv_region = await page.evaluate(
    async (href) => (await fetch(href)).text(), out.export_csv_href);
  await page.selectOption('#f-region', '');
  await count(total);
  const href = await page.getByTestId('export-csv').getAttribute('href');
  out.export_csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);

  // The statistics after `change` (a click) has made the page load them again.
  const statsAfter = async (change) => {
    const version = await page.getAttribute('[data-testid=stats-table]', 'data-version');
    await change();
    await page.waitForFunction((v) =>
      document.querySelector('[data-testid=stats-table]').dataset.version !== v, version);
    return page.$$eval('[data-testid=stats-table] tbody tr', (rows) => rows.map((r) => ({
      group: r.dataset.group, key: r.dataset.key,
      count: Number(r.querySelector('td.count').textContent),
      change: r.querySelector('td.change').textContent,
    })));
  };
  out.stats = await statsAfter(() => page.click('a[href="#/stats"]'));
  out.stats_summary = await page.locator('#stats-summary').textContent();
  out.charts = await page.locator('#charts svg').count();
  await page.screenshot({ path: `${shots}/5-stats.png`, fullPage: true });
  out.counting_rule = await page.getByTestId('counting-rule').textContent();
  // The print view: under print media the navigation and buttons are gone, the heading
  // and every row of the table are there, and chromium makes a PDF of it.
  await page.emulateMedia({ media: 'print' });
  out.print = {
    nav_visible: await page.locator('header').isVisible(),
    button_visible: await page.getByTestId('print').isVisible(),
    heading: await page.getByTestId('print-heading').isVisible() ? await page.getByTestId('print-heading').textContent() : '',
    table_rows: await page.locator('[data-testid=stats-table] tbody tr:visible').count(),
  };
  const pdf = await page.pdf({ path: `${shots}/5-stats.pdf`, format: 'A4', printBackground: false });
  out.print.pdf_magic = pdf.subarray(0, 5).toString('latin1');
  out.print.pdf_bytes = pdf.length;
  out.print.pdf_pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
  await page.screenshot({ path: `${shots}/5-stats-print.png`, fullPage: true });
  await page.emulateMedia({ media: 'screen' });

  await page.click('a[href="#/duplicates"]');
  await page.getByTestId('duplicate-group').first().waitFor({ state: 'visible' });
  out.duplicate_groups = await page.$$eval('[data-testid=duplicate-group]',
    (groups) => groups.map((g) => g.dataset.ids));
  await page.screenshot({ path: `${shots}/6-duplicates.png`, fullPage: true });

  // The reviewer confirms the group holding DESK_DUPLICATE_ID: it counts once, unless
  // raw counts are asked for.
  const group = page.locator(`[data-testid=duplicate-group][data-ids*="${env('DESK_DUPLICATE_ID')}"]`);
  await group.locator('button[data-decide=confirmed]').click();
  await page.locator('[data-testid=duplicate-group] .decision[data-decision=confirmed]').waitFor();
  out.stats_confirmed = await statsAfter(() => page.click('a[href="#/stats"]'));
  await page.screenshot({ path: `${shots}/8-stats-confirmed.png`, fullPage: true });
  out.stats_raw = await statsAfter(() => page.check('#raw'));

  // The gaps page: `review gaps` per device.
  await page.click('a[href="#/gaps"]');
  await page.getByTestId('gap-row').first().waitFor({ state: 'visible' });
  out.gaps = await page.$$eval('[data-testid=gap-row]', (rows) => rows.map((r) => ({
    device: r.dataset.device,
    cells: [...r.querySelectorAll('td')].map((td) => td.textContent),
  })));
  out.gaps_headers = await page.$$eval('#gaps-view thead th', (ths) => ths.map((th) => th.textContent));
  await page.screenshot({ path: `${shots}/9-gaps.png`, fullPage: true });

  await page.click('#lock');
  await page.getByTestId('passphrase').waitFor({ state: 'visible' });
  out.after_lock_status = await page.evaluate(async () => (await fetch('/api/records')).status);
  await page.screenshot({ path: `${shots}/7-locked.png`, fullPage: true });

  out.session_cookie = (await context.cookies()).find((c) => c.name === 'temoin_desk') || null;
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
