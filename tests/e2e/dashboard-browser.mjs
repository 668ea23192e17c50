// What both dashboard suites start: headless Chromium (Debian's chromium
// driven by playwright-core) and a private stack loaded with the scenario of
// dashboard-scenario.mjs. Screenshots and downloads go to OUT.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startStack, ROOT } from './harness.mjs';
import * as S from './dashboard-scenario.mjs';

export const OUT = path.join(process.env.LB_TEST_OUT || path.join(ROOT, 'build/test-output'), 'dashboard');
const CHROMIUM = process.env.LB_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Fills env.stack, env.origin and env.browser; the browser is set even when
// the stack fails to start, so that stopDashboard(env) closes it.
export async function startDashboard(env) {
  fs.mkdirSync(OUT, { recursive: true });
  const launching = chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    env.stack = await startStack({
      sets: {
        'github.webhook_secret': S.SECRET,
        'github.partner_org': S.ORG.login,
        'github.repositories': S.TRACKED.join(','),
        'scoring.merged_points': String(S.MERGED_POINTS),
      },
    });
    env.origin = new URL(env.stack.url).origin;
    await S.loadScenario(env.stack);
  } finally {
    env.browser = await launching;
  }
}

export async function stopDashboard(env) {
  if (env.browser) await env.browser.close();	// also closes its pages
  if (env.stack) await env.stack.stop();
}
