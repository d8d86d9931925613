// Helpers shared by the browser tests (tests/e2e, tests/netlab): polling with deadlines and
// opening tern's demo page in a fresh browser context.
"use strict";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// `promise`, or null after `ms`.
function within(promise, ms) {
  let timer;
  return Promise.race([promise, new Promise((r) => { timer = setTimeout(r, ms, null); })])
    .finally(() => clearTimeout(timer));
}

// Polls `probe` until it returns a truthy value; fails with `what` and the last value seen.
async function waitFor(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}

// The demo page at `url` in a new context of `browser` (made with `contextOptions`); state()
// reads window.ternDemo.state().
async function openPeer(browser, name, url, logs, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.on("console", (m) => logs.push(`[${name} console.${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => logs.push(`[${name} pageerror] ${e.message}`));
  await page.goto(url, { timeout: 15000 });
  await page.waitForFunction(() => window.ternDemo !== undefined, null, { timeout: 10000 });
  return { name, context, page, state: () => page.evaluate(() => window.ternDemo.state()) };
}

// Runs `body()` with the pages in `peers` (which it may still fill), closing their contexts
// afterwards; a failure's message gets every page's state, the last page logs and `extra()`.
async function withPages(peers, logs, body, extra = () => "") {
  try {
    return await body();
  } catch (e) {
    const states = await Promise.all(peers.map((p) => p.state().catch((x) => String(x))));
    e.message += `\n--- page states\n${JSON.stringify(states, null, 1)}\n--- page logs\n` +
                 `${logs.slice(-60).join("\n")}${extra()}`;
    throw e;
  } finally {
    for (const p of peers) await p.context.close().catch(() => {});
  }
}

module.exports = { sleep, within, waitFor, openPeer, withPages };
