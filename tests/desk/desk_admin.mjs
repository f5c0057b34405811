// Drives an admin's `temoin desk` in Debian's chromium: unlock (with the keyboard), the
// devices, a reviewer's access removed and given back, a revoke cancelled then
// confirmed, an invite with its QR code, and the audit log with its verification.
// Prints what it saw as one JSON object; desk_browser_test.cc checks it against the CLI.
// No timing: each step waits for the state it expects. Environment: DESK_URL,
// DESK_PASSPHRASE, DESK_SHOTS, DESK_PROFILE, DESK_PROJECT, DESK_REVIEWER (its id),
// DESK_REVOKE (the id of a device to revoke).
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const shots = env('DESK_SHOTS');
const reviewer = env('DESK_REVIEWER');
const revoke = env('DESK_REVOKE');
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
  const loads = async () => Number(await page.getAttribute('#device-rows', 'data-loaded') || 0);
  // Waits for the admin action started by `act` to finish; its status line.
  const action = async (act) => {
    const before = await loads();
    await act();
    await page.locator('[data-testid=admin-status][data-done]').waitFor();
    await page.waitForFunction((b) => Number(document.getElementById('device-rows').dataset.loaded) > b, before);
    return { done: await page.getAttribute('[data-testid=admin-status]', 'data-done'),
      text: await page.getByTestId('admin-status').textContent() };
  };

  await page.goto(env('DESK_URL'));
  await page.getByTestId('passphrase').fill(env('DESK_PASSPHRASE'));
  await page.keyboard.press('Enter');
  await page.locator('#device-rows[data-loaded]').waitFor();
  out.visible_nav = await page.locator('#nav a:visible').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  out.devices = await page.locator('[data-testid=device-row]').evaluateAll((rows) =>
    rows.map((r) => ({ id: r.dataset.id, role: r.dataset.role, state: r.dataset.state })));
  await page.screenshot({ path: `${shots}/9-admin-devices.png`, fullPage: true });

  await page.getByTestId('g-project').fill(env('DESK_PROJECT'));
  await page.selectOption('#g-reviewer', reviewer);
  out.ungrant = await action(() => page.getByTestId('ungrant').click());
  out.grant = await action(() => page.getByTestId('grant').click());

  // Revoke asks first; Cancel (or Escape) changes nothing.
  const row = page.locator(`[data-testid=device-row][data-id="${revoke}"]`);
  await row.getByTestId('revoke').click();
  await page.locator('#revoke-confirm').waitFor({ state: 'visible' });
  out.confirm_text = await page.locator('#revoke-question').textContent();
  out.confirm_focused = await page.evaluate(() => document.activeElement.id);
  await page.screenshot({ path: `${shots}/10-admin-revoke-confirm.png`, fullPage: true });
  await page.keyboard.press('Escape');
  await page.locator('#revoke-confirm').waitFor({ state: 'hidden' });
  out.state_after_cancel = await row.getAttribute('data-state');
  await row.getByTestId('revoke').click();
  out.revoke = await action(() => page.getByTestId('revoke-yes').click());
  out.state_after_revoke = await page.getAttribute(`[data-testid=device-row][data-id="${revoke}"]`, 'data-state');

  await page.click('#nav a[href="#/invite"]');
  await page.selectOption('#i-role', 'monitor');
  await page.getByTestId('i-project').fill(env('DESK_PROJECT'));
  await page.getByTestId('issue-invite').click();
  await page.waitForFunction(() => {
    const img = document.getElementById('invite-qr');
    return (img.complete && img.naturalWidth > 0 && document.getElementById('invite-code').textContent) ||
        document.getElementById('invite-error').textContent;
  });
  out.invite_error = await page.locator('#invite-error').textContent();
  out.invite_code = await page.getByTestId('invite-code').textContent();
  out.qr = await page.evaluate(() => {
    const img = document.getElementById('invite-qr');
    return { natural: img.naturalWidth, width: img.width, src: img.src.slice(0, 5) };
  });
  await page.screenshot({ path: `${shots}/11-admin-invite.png`, fullPage: true });
  // A bad lifetime is refused with IssueInvite's words.
  await page.fill('#i-ttl', '9999');
  await page.getByTestId('issue-invite').click();
  await page.waitForFunction(() => document.getElementById('invite-error').textContent !== '');
  out.bad_ttl_error = await page.locator('#invite-error').textContent();
  out.invite_hidden_after_error = await page.locator('#invite-result').isHidden();

  await page.click('#nav a[href="#/audit"]');
  await page.locator('[data-testid=audit-status][data-verified]').waitFor();
  out.audit_verified = await page.getAttribute('[data-testid=audit-status]', 'data-verified');
  out.audit = await page.locator('[data-testid=audit-row]').evaluateAll((rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent)));
  await page.screenshot({ path: `${shots}/12-admin-audit.png`, fullPage: true });
  await page.selectOption('#lang', 'fr');
  await page.locator('[data-testid=audit-status][data-verified]').waitFor();
  await page.screenshot({ path: `${shots}/13-admin-audit-fr.png`, fullPage: true });
  out.closed = await page.evaluate(async () => (await fetch('/api/close', { method: 'POST' })).status);
} finally {
  await context.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
