// Driving the VS Code workbench (code-server) in Chromium: the command palette, quick open, the
// Optiscope panel's webview (two nested iframes), the History view.
import type { Frame, FrameLocator, Page } from 'playwright-core';

export async function waitForWorkbench(page: Page): Promise<void> {
  await page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  // The explorer of the opened folder is the sign that the workbench finished restoring.
  await page.locator('.explorer-folders-view, .explorer-viewlet').first().waitFor({ timeout: 90_000 });
}

/**
 * Runs a command as a user does: F1, type its title, Enter. Whatever the palette ranks first runs, so a
 * command that loses the ranking to another row fails the test (a user would have run the other one).
 */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(`>${title}`);
  // Enter once the palette has filtered on what was typed: a user reads the highlighted row, then presses
  // Enter. If another command holds it, Enter runs that one, as it would for the user.
  const focused = page.locator('.quick-input-list .monaco-list-row.focused');
  await focused.first().waitFor({ timeout: 15_000 });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 15_000 });
  await page.waitForTimeout(300);
  await input.press('Enter');
}

/** Opens a workspace file in an editor through Quick Open. */
export async function openFile(page: Page, name: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input.input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 15_000 });
  await input.press('Enter');
  await page.locator(`.tabs-container .tab[aria-label*="${name}"]`).first().waitFor({ timeout: 15_000 });
  await page.locator('.editor-instance .monaco-editor').first().waitFor({ timeout: 15_000 });
}

/** The editor tabs whose title starts with `prefix` (or matches a pattern). */
export function tab(page: Page, title: string | RegExp) {
  const re = typeof title === 'string' ? new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) : title;
  return page.locator('.tabs-container .tab').filter({ has: page.locator('.label-name', { hasText: re }) });
}

/**
 * The content frame of the visible Optiscope webview: VS Code hosts each webview in an outer
 * `iframe.webview` whose document holds the `#active-frame` iframe with our page.
 */
export function panelFrame(page: Page): FrameLocator {
  return page.locator('iframe.webview.ready').last().contentFrame().locator('iframe#active-frame').contentFrame();
}

/** The Frame object of the panel (for evaluate), found by its document containing `#app`. */
export async function panelFrameHandle(page: Page, timeoutMs = 60_000): Promise<Frame> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const f of page.frames()) {
      if (f.name() === 'active-frame' || /active-frame/.test(f.url()) || f.url().includes('fake.html')) {
        try {
          if (await f.locator('#app').count()) return f;
        } catch {
          // Frame navigating.
        }
      }
    }
    if (Date.now() > until) throw new Error('the Optiscope webview frame did not appear');
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Number of canvases in the panel with something drawn on them (any non-transparent pixel). */
export async function drawnCanvases(frame: Frame): Promise<number> {
  return frame.evaluate(() => {
    let drawn = 0;
    for (const c of Array.from(document.querySelectorAll('canvas'))) {
      if (!c.width || !c.height) continue;
      const ctx = c.getContext('2d');
      if (!ctx) continue;
      const data = ctx.getImageData(0, 0, c.width, c.height).data;
      for (let i = 3; i < data.length; i += 4 * 7) {
        if (data[i] !== 0) {
          drawn++;
          break;
        }
      }
    }
    return drawn;
  });
}

/** Opens the Optiscope container in the activity bar and returns the History view's rows. */
export async function showRunsView(page: Page) {
  const icon = page.locator('.activitybar .action-item a[aria-label^="Optiscope"], .activitybar .action-label[aria-label^="Optiscope"]').first();
  await icon.waitFor({ timeout: 30_000 });
  const pane = page.locator('.pane').filter({ has: page.locator('.pane-header', { hasText: /History/i }) }).first();
  if (!(await pane.locator('.monaco-list-row').first().isVisible().catch(() => false))) await icon.click();
  return pane.locator('.monaco-list-row');
}
