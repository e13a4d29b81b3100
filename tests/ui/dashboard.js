// The dashboard (daemon/ui*.c) in a real browser: headless Debian Chromium
// driven by playwright-core, against the contract in the notes
// (routes, cookies, stable selectors). tests/integration/test_ui.sh starts
// augerd, makes the data (envs, artifacts, releases, tokens) and runs:
//
//   node tests/ui/dashboard.js FIXTURE.json
//
// FIXTURE.json: {url, admin, reader, readerName, eventsToken, shots, env,
// otherEnv, app, pagerApp, arts: {w1..w5, bad, api1, prod1: {id, sha}},
// preview: {artifact (JSON to POST /api/artifact), app (what it deploys as)}}.
//
// Each check prints one line on stdout, which the shell turns into its own
// ok/fail:
//   ok<TAB>NAME
//   FAIL<TAB>NAME<TAB>DETAIL        (DETAIL's newlines written as \n)
// and the last line is "done<TAB>PASSED<TAB>FAILED". Anything else is a log
// line. A crash prints a FAIL line and exits 1; the shell also counts a
// missing "done" line as a failure. Screenshots (full page) go to
// FIXTURE.shots. Playwright is loaded from $PLAYWRIGHT_MODULES.
'use strict'
const path = require('path')
const fs = require('fs')
const crypto = require('crypto')

const modules = process.env.PLAYWRIGHT_MODULES || 'node_modules'
const { chromium } = require(path.resolve(modules, 'playwright-core'))

const F = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
const BASE = F.url.replace(/\/$/, '')
const ENV = F.env
const APP = F.app
const WAIT = 10000 // ms for anything live (SSE) or a navigation

let passed = 0
let failed = 0

function oneLine(s) {
  return String(s).replace(/\t/g, ' ').replace(/\r?\n/g, '\\n').slice(0, 3000)
}
function log(s) { process.stdout.write(`# ${oneLine(s)}\n`) }
function ok(name) { passed++; process.stdout.write(`ok\t${oneLine(name)}\n`) }
function fail(name, detail) {
  failed++
  process.stdout.write(`FAIL\t${oneLine(name)}\t${oneLine(detail || '')}\n`)
}

// A failed expectation: its message is the check's detail.
class Miss extends Error {}
// A check the rest of a section depends on failed: stop that section.
class Stop extends Error {}

function expect(cond, detail) { if (!cond) throw new Miss(detail) }
function expectEq(want, got, what) {
  if (want !== got) throw new Miss(`${what || 'value'}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`)
}
function expectMatch(re, got, what) {
  if (!re.test(got)) throw new Miss(`${what || 'text'}: expected to match ${re}, got ${JSON.stringify(String(got).slice(0, 1500))}`)
}

function detailOf(e) {
  if (e instanceof Miss) return e.message
  return (e && e.stack) ? e.stack.split('\n').slice(0, 4).join('\n') : String(e)
}

// check NAME FN: FN throws (Miss or anything else) to fail. Returns true
// when it passed.
async function check(name, fn) {
  try {
    await fn()
    ok(name)
    return true
  } catch (e) {
    if (e instanceof Stop) throw e
    fail(name, detailOf(e))
    return false
  }
}

// must NAME FN: a check whose failure stops the section.
async function must(name, fn) {
  if (!(await check(name, fn))) throw new Stop(name)
}

async function section(name, fn) {
  log(`section: ${name}`)
  try {
    await fn()
  } catch (e) {
    if (e instanceof Stop) {
      log(`section "${name}" stopped after "${e.message}" failed`)
    } else {
      fail(`${name}: section ran to its end`, detailOf(e))
    }
  }
}

// ---------------------------------------------------------------- HTTP

// api METHOD PATH [BODY] [TOKEN]: the JSON API with a Bearer token.
async function api(method, p, body, token) {
  const headers = { Authorization: `Bearer ${token || F.admin}` }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  const r = await fetch(BASE + p, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  })
  const text = await r.text()
  let json = null
  try { json = JSON.parse(text) } catch (_) { /* not JSON */ }
  return { status: r.status, text, json }
}

// The env's whole history (rollbacks too), newest first.
async function history(env, app) {
  const r = await api('GET', `/api/releases?env=${env}&all=true&limit=1000`)
  if (r.status !== 200 || !Array.isArray(r.json)) throw new Miss(`GET /api/releases?env=${env}: ${r.status} ${r.text.slice(0, 300)}`)
  let h = r.json
  if (app) h = h.filter((x) => x.app === app)
  return h.slice().sort((a, b) => b.seq - a.seq)
}

async function current(env, app) {
  const r = await api('GET', `/api/status?env=${env}`)
  if (r.status !== 200 || !r.json || !r.json[app]) throw new Miss(`GET /api/status?env=${env}: no ${app}: ${r.status} ${r.text.slice(0, 300)}`)
  return r.json[app]
}

// A signed Flux notification (generic-hmac), the same body as
// release_lib.sh's flux_event.
async function fluxEvent(env, sha, reason) {
  const body = `{"involvedObject":{"kind":"Kustomization","namespace":"flux-system","name":"gitops-repo-${env}-apps"},"severity":"info","timestamp":"2024-01-01T00:00:00Z","message":"Applied revision: main@sha1:${sha}","reason":"${reason}","reportingController":"kustomize-controller","metadata":{"revision":"main@sha1:${sha}"}}`
  const sig = crypto.createHmac('sha256', F.eventsToken).update(body).digest('hex')
  const r = await fetch(`${BASE}/api/flux-events?env=${env}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Signature': `sha256=${sig}` },
    body, signal: AbortSignal.timeout(30000),
  })
  return { status: r.status, text: await r.text() }
}

// raw METHOD PATH COOKIE [FORM]: a request outside the browser, redirects
// not followed.
async function raw(method, p, cookie, form) {
  const headers = {}
  if (cookie) headers.Cookie = cookie
  let body
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(form).toString()
  }
  const r = await fetch(BASE + p, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(30000) })
  return { status: r.status, location: r.headers.get('location') || '', text: await r.text() }
}

// ---------------------------------------------------------------- pages

function pathOf(u) { const x = new URL(u); return x.pathname }
function norm(s) { return (s || '').replace(/\s+/g, ' ').trim() }

// shot PAGE NAME: a full-page screenshot, and the contract's rule that
// every form that posts carries a csrf field, checked on each page shot.
async function shot(page, name) {
  await check(`screenshot ${name}.png`, async () => {
    await page.screenshot({ path: path.join(F.shots, `${name}.png`), fullPage: true })
  })
  await check(`${name}: every POST form has a hidden csrf field with a value`, async () => {
    const forms = await page.$$eval('form', (fs) => fs.filter((f) => (f.getAttribute('method') || '').toLowerCase() === 'post').map((f) => {
      const c = f.querySelector('input[name=csrf]')
      return { id: f.id || f.className || f.getAttribute('action'), ok: !!(c && c.type === 'hidden' && c.value) }
    }))
    const bad = forms.filter((f) => !f.ok).map((f) => f.id)
    expectEq('', bad.join(' '), 'POST forms without a csrf field')
  })
}

// goto PAGE PATH: navigates; returns the main response.
async function goto(page, p) {
  return page.goto(BASE + p, { waitUntil: 'load', timeout: WAIT * 2 })
}

// Click SELECTOR (first match) and wait for the navigation it starts;
// returns the final document's response.
async function clickNav(page, sel) {
  const loc = page.locator(sel).first()
  const [resp] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: WAIT * 2 }),
    loc.click({ timeout: WAIT }),
  ])
  return resp
}

// Facts about the elements matching SELECTOR, now (no waiting).
async function all(page, sel) {
  return page.$$eval(sel, (els) => els.map((e) => ({
    text: (e.textContent || '').replace(/\s+/g, ' ').trim(),
    cls: e.className && typeof e.className === 'string' ? e.className.split(/\s+/).filter(Boolean) : [],
    href: e.getAttribute('href'),
    attrs: Object.fromEntries(Array.from(e.attributes).map((a) => [a.name, a.value])),
  })))
}
async function one(page, sel) {
  const a = await all(page, sel)
  if (a.length === 0) throw new Miss(`no element matches ${sel} on ${page.url()}`)
  return a[0]
}
async function count(page, sel) { return page.locator(sel).count() }

// waitText PAGE SELECTOR WANT: until the first match's text is WANT (a
// string, or a RegExp source when WANT is {re}); on time-out the detail says
// what the page shows instead.
async function waitText(page, sel, want) {
  const re = typeof want === 'string' ? null : want.re
  await page.waitForFunction(([sel, want, re]) => {
    const e = document.querySelector(sel)
    if (!e) return false
    const t = e.textContent.replace(/\s+/g, ' ').trim()
    return re ? new RegExp(re).test(t) : t === want
  }, [sel, typeof want === 'string' ? want : null, re], { timeout: WAIT }).catch(async (e) => {
    const now = await page.$eval(sel, (x) => x.textContent.replace(/\s+/g, ' ').trim()).catch(() => '(no such element)')
    throw new Miss(`${String(e).split('\n')[0]}: waited for ${sel} to be ${re ? '/' + re + '/' : JSON.stringify(want)}; it is ${JSON.stringify(now.slice(0, 800))}`)
  })
}

// The csrf value of the page's first form (sign-out has one on every page).
async function csrfOf(page, formSel) {
  const v = await page.$eval(`${formSel || 'form#signout'} input[name=csrf]`, (e) => e.value).catch(() => '')
  if (!v) throw new Miss(`no csrf input in ${formSel || 'form#signout'} on ${page.url()}`)
  return v
}

// postFrom PAGE PATH FIELDS: a same-origin form POST made by the page's own
// script context (cookie attached, Origin = this server), as a forged
// request from the page would be. Returns {status, error} (.error's text).
async function postFrom(page, p, fields) {
  return page.evaluate(async ([p, fields]) => {
    const r = await fetch(p, {
      method: 'POST', body: new URLSearchParams(fields), redirect: 'manual', credentials: 'same-origin',
    })
    const t = await r.text()
    const d = new DOMParser().parseFromString(t, 'text/html')
    const e = d.querySelector('.error')
    return { status: r.status, error: e ? e.textContent.replace(/\s+/g, ' ').trim() : '', body: t.slice(0, 500) }
  }, [p, fields])
}

async function signIn(page, token) {
  await goto(page, '/ui/signin')
  await page.fill('input[name=token]', token, { timeout: WAIT })
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === '/ui/signin', { timeout: WAIT }),
    page.click('button#signin', { timeout: WAIT }),
  ])
  await page.waitForLoadState('load')
  return resp
}

function rowSel(app) { return `table#apps tr.app[data-app="${app}"]` }
function relSel(seq) { return `table#history tr.release[data-seq="${seq}"]` }
const short = (s) => s.slice(0, 7)

// ---------------------------------------------------------------- the walk

async function main() {
  fs.mkdirSync(F.shots, { recursive: true })
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'],
  })
  log(`chromium ${browser.version()}`)
  try {
    await walk(browser)
  } finally {
    await browser.close().catch(() => {})
  }
}

async function newPage(browser, opts) {
  // A zone far from UTC (+05:30), so the JS's local times differ from the
  // server's UTC text in hours and minutes.
  const ctx = await browser.newContext({ timezoneId: 'Asia/Kolkata', locale: 'en-GB', viewport: { width: 1280, height: 800 }, ...(opts || {}) })
  const page = await ctx.newPage()
  page.setDefaultTimeout(WAIT)
  // Script errors, and failed requests other than the navigations the test
  // makes on purpose (a 403 page, say) and the browser's own favicon probe.
  const errors = []
  const bad = []
  page.on('pageerror', (e) => errors.push(String(e)))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) errors.push(m.text())
  })
  page.on('response', (r) => {
    const req = r.request()
    if (r.status() >= 400 && !req.isNavigationRequest() && pathOf(r.url()) !== '/favicon.ico') bad.push(`${req.method()} ${r.url()}: ${r.status()}`)
  })
  page.on('requestfailed', (req) => {
    // An EventSource torn down by a navigation is not a failure.
    if (!/ERR_ABORTED/.test((req.failure() || {}).errorText || '')) bad.push(`${req.method()} ${req.url()}: ${(req.failure() || {}).errorText}`)
  })
  page.jsErrors = errors
  page.badRequests = bad
  return { ctx, page }
}

async function walk(browser) {
  const A = F.arts
  const { ctx, page } = await newPage(browser)
  let sessionCookie = ''
  let csrfBefore = ''

  // ------------------------------------------------------------ sign in
  await section('sign-in', async () => {
    let resp
    await must('GET /ui/signin answers 200', async () => {
      resp = await goto(page, '/ui/signin')
      expectEq(200, resp.status(), 'status')
    })
    await check('sign-in page: input[name=token] is a password field', async () => {
      expectEq('password', (await one(page, 'input[name=token]')).attrs.type, 'type')
    })
    await check('sign-in page: button#signin', async () => { expectEq(1, await count(page, 'button#signin'), 'count') })
    await check('sign-in page: the form has a hidden csrf field with a value', async () => {
      const c = await one(page, 'form input[name=csrf]')
      expectEq('hidden', c.attrs.type, 'type')
      expect(c.attrs.value && c.attrs.value.length >= 16, `csrf value too short: ${JSON.stringify(c.attrs.value)}`)
    })
    await shot(page, 'signin')

    await check('a protected page without a session lands on the sign-in page', async () => {
      await goto(page, `/ui/env/${ENV}`)
      expectEq('/ui/signin', pathOf(page.url()), 'path')
    })
    await check('a bad token: 401 with .error "unknown token"', async () => {
      resp = await signIn(page, 'not-a-token-0123456789')
      expectEq(401, resp.status(), 'status')
      expectMatch(/unknown token/i, (await one(page, '.error')).text, '.error')
      expectEq(1, await count(page, 'input[name=token]'), 'the form is shown again')
    })
    await must('the admin token signs in: 303 to /', async () => {
      resp = await signIn(page, F.admin)
      expectEq(303, resp.status(), 'POST /ui/signin status')
      expectEq('/', pathOf(page.url()), 'landed on')
    })
    await check('#whoami says "admin (admin)"', async () => {
      expectMatch(/\badmin \(admin\)/, (await one(page, 'header #whoami')).text, '#whoami')
    })
    await check('auger_session cookie: HttpOnly, SameSite=Strict, Path=/', async () => {
      const c = (await ctx.cookies(BASE)).find((x) => x.name === 'auger_session')
      expect(c, `no auger_session cookie: ${JSON.stringify(await ctx.cookies(BASE))}`)
      expectEq(true, c.httpOnly, 'httpOnly')
      expectEq('Strict', c.sameSite, 'sameSite')
      expectEq('/', c.path, 'path')
      sessionCookie = `auger_session=${c.value}`
    })
    await check('the page\'s script cannot read auger_session (document.cookie)', async () => {
      const dc = await page.evaluate(() => document.cookie)
      expect(!/auger_session/.test(dc), `document.cookie: ${dc}`)
    })
  })

  // ------------------------------------------------------------ overview
  await section('overview', async () => {
    if (pathOf(page.url()) !== '/') await goto(page, '/')
    await check('header: nav a#nav-envs to /, a#nav-artifacts, form#signout button "Sign out"', async () => {
      expectEq('/', new URL((await one(page, 'header a#nav-envs')).href, BASE).pathname, 'a#nav-envs href')
      expectMatch(/\/ui\/artifacts/, (await one(page, 'header a#nav-artifacts')).href, 'a#nav-artifacts href')
      expectMatch(/sign out/i, (await one(page, 'header form#signout button')).text, 'sign-out button')
    })
    for (const [env, apps] of [[ENV, [APP, F.pagerApp]], [F.otherEnv, [APP]]]) {
      await check(`overview: section.env[data-env=${env}] with a.env-link to /ui/env/${env}`, async () => {
        const l = await one(page, `main section.env[data-env="${env}"] a.env-link`)
        expectMatch(new RegExp(`/ui/env/${env}$`), l.href, 'a.env-link href')
      })
      await check(`overview: ${env} lists ${apps.join(', ')} (tr.app[data-app])`, async () => {
        for (const a of apps) expectEq(1, await count(page, `main section.env[data-env="${env}"] tr.app[data-app="${a}"]`), `rows for ${a}`)
      })
    }
    await shot(page, 'overview')
  })

  // ------------------------------------------------------------ env page
  await section('env page', async () => {
    await goto(page, '/')
    await must(`the staging a.env-link opens /ui/env/${ENV}`, async () => {
      const r = await clickNav(page, `main section.env[data-env="${ENV}"] a.env-link`)
      expectEq(200, r.status(), 'status')
      expectEq(`/ui/env/${ENV}`, pathOf(page.url()), 'path')
    })
    await check('env page: h1 names the env', async () => { expectMatch(new RegExp(ENV), (await one(page, 'main h1')).text, 'h1') })
    const cur = await current(ENV, APP)
    const row = rowSel(APP)
    await must(`env page: ${row}`, async () => { expectEq(1, await count(page, row), 'rows') })
    await check('env page: td.version is the commit message', async () => {
      expectMatch(new RegExp(cur.version.message), (await one(page, `${row} td.version`)).text, 'td.version')
    })
    await check('env page: td.author is the author', async () => {
      expectMatch(new RegExp(cur.version.authorName), (await one(page, `${row} td.author`)).text, 'td.author')
    })
    await check('env page: td.sha a is the short sha, linked to version.url', async () => {
      const a = await one(page, `${row} td.sha a`)
      expectEq(short(cur.version.sha), a.text, 'text')
      expectEq(cur.version.url, a.href, 'href')
    })
    await check('env page: td.ref is the branch', async () => {
      expectMatch(new RegExp(`\\b${cur.version.branch}\\b`), (await one(page, `${row} td.ref`)).text, 'td.ref')
    })
    await check('env page: td.when time[datetime] is ISO 8601 UTC, the release\'s time', async () => {
      const t = await one(page, `${row} td.when time`)
      const dt = t.attrs.datetime || ''
      expectMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$/, dt, 'datetime')
      const ms = Date.parse(dt)
      expect([cur.created, cur.version.created].some((s) => Math.abs(ms - s * 1000) < 1000),
        `datetime ${dt} is neither the release's created (${cur.created}) nor the commit's (${cur.version.created})`)
    })
    await check('env page: td.by is triggeredBy', async () => {
      expectMatch(new RegExp(cur.triggeredBy), (await one(page, `${row} td.by`)).text, 'td.by')
    })
    await check('env page: td.flux span.flux pending (no Flux event yet)', async () => {
      const s = await one(page, `${row} td.flux span.flux`)
      expectEq(cur.gitopsCommitStatus || '', s.attrs['data-status'], 'data-status')
      expectMatch(/pending/i, s.text, 'text')
      expect(s.cls.includes('flux-pending'), `class: ${s.cls.join(' ')}`)
    })
    await check('env page: a.app-link to the app page', async () => {
      expectMatch(new RegExp(`/ui/env/${ENV}/app/${APP}$`), (await one(page, `${row} a.app-link`)).href, 'href')
    })
    await check('env page: #previews says "No open previews"', async () => {
      expectMatch(/No open previews/i, (await one(page, '#previews')).text, '#previews')
    })
    await check('env page: the script rewrites time[datetime] to local time (server text is UTC)', async () => {
      const r = await page.evaluate(async (sel) => {
        const t = await (await fetch(location.href)).text()
        const d = new DOMParser().parseFromString(t, 'text/html')
        const srv = d.querySelector(sel)
        const live = document.querySelector(sel)
        return { srv: srv && srv.textContent.trim(), live: live && live.textContent.trim(), dt: live && live.getAttribute('datetime') }
      }, `${row} td.when time`)
      expect(r.srv && r.live, `time element missing: ${JSON.stringify(r)}`)
      expect(r.srv !== r.live, `the text is the server's (${r.srv}) in a +05:30 browser: not rewritten`)
    })
    await shot(page, 'env')
  })

  // ------------------------------------------------------------ artifacts + deploy
  await section('artifacts and deploy', async () => {
    await goto(page, `/ui/env/${ENV}`)
    await must('a#nav-artifacts opens /ui/artifacts', async () => {
      const r = await clickNav(page, 'header a#nav-artifacts')
      expectEq(200, r.status(), 'status')
      expectEq('/ui/artifacts', pathOf(page.url()), 'path')
    })
    const W3 = A.w3
    const art = `main article.artifact[data-id="${W3.id}"]`
    await check('artifacts: every artifact is listed (at most 30)', async () => {
      const n = await count(page, 'main article.artifact')
      expect(n >= 7 && n <= 30, `article.artifact count ${n}`)
    })
    await check('artifacts: an article shows repo, branch, event, message, short sha', async () => {
      const t = (await one(page, art)).text
      for (const w of ['acme/web', 'ci', 'push', `commit ${short(W3.sha)}`]) expect(t.includes(w), `"${w}" not in ${JSON.stringify(t)}`)
    })
    await check('artifacts: form.deploy posts to /ui/deploy with artifact, env select, csrf, "Deploy"', async () => {
      const f = await one(page, `${art} form.deploy`)
      expectEq('post', (f.attrs.method || '').toLowerCase(), 'method')
      expectMatch(/\/ui\/deploy$/, f.attrs.action || '', 'action')
      const h = await one(page, `${art} form.deploy input[name=artifact]`)
      expectEq('hidden', h.attrs.type, 'artifact input type')
      expectEq(W3.id, h.attrs.value, 'artifact value')
      const opts = await page.$$eval(`${art} form.deploy select[name=env] option`, (os) => os.map((o) => o.value))
      expect(opts.includes(ENV), `env options: ${opts}`)
      expectEq(1, await count(page, `${art} form.deploy input[name=csrf]`), 'csrf inputs')
      expectMatch(/deploy/i, (await one(page, `${art} form.deploy button`)).text, 'button')
    })

    // filters
    async function filter(repo, branch, event) {
      await page.fill('form#filters input[name=repository]', repo)
      await page.fill('form#filters input[name=branch]', branch)
      const sel = 'form#filters select[name=event]'
      const vals = await page.$$eval(`${sel} option`, (os) => os.map((o) => ({ v: o.value, t: o.textContent.trim() })))
      const o = vals.find((x) => x.v === event) || vals.find((x) => x.t.toLowerCase() === (event || 'any'))
      if (!o) throw new Miss(`no option ${event || 'any'} in ${sel}: ${JSON.stringify(vals)}`)
      await page.selectOption(sel, o.v)
      await clickNav(page, 'form#filters [type=submit], form#filters button')
      expectEq('/ui/artifacts', pathOf(page.url()), 'path after filtering')
      return page.$$eval('main article.artifact', (as) => as.map((a) => ({ id: a.dataset.id, text: a.textContent.replace(/\s+/g, ' ') })))
    }
    await check('artifacts filter: select[name=event] offers any, push, tag, pr', async () => {
      const t = await page.$$eval('form#filters select[name=event] option', (os) => os.map((o) => o.textContent.trim().toLowerCase()))
      for (const w of ['any', 'push', 'tag', 'pr']) expect(t.includes(w), `options: ${t}`)
      expectEq('get', ((await one(page, 'form#filters')).attrs.method || 'get').toLowerCase(), 'form#filters method')
    })
    await check('artifacts filter: repository=acme/api shows only acme/api', async () => {
      const got = await filter('acme/api', '', '')
      expectMatch(/repository=acme(%2F|\/)api/, page.url(), 'url')
      expect(got.length >= 1, 'no artifact')
      expect(got.some((a) => a.id === A.api1.id), `${A.api1.id} missing: ${got.map((a) => a.id)}`)
      const other = got.filter((a) => !a.text.includes('acme/api'))
      expect(other.length === 0, `not acme/api: ${other.map((a) => a.id)}`)
    })
    await check('artifacts filter: repository=acme/web, branch=ci', async () => {
      const got = (await filter('acme/web', 'ci', '')).map((a) => a.id)
      for (const k of ['w2', 'w3', 'w4', 'w5']) expect(got.includes(A[k].id), `${k} (${A[k].id}) missing: ${got}`)
      expect(!got.includes(A.w1.id), `w1 (branch main) listed: ${got}`)
      expect(!got.includes(A.api1.id), 'acme/api listed')
    })
    await check('artifacts filter: event=tag shows none (all are pushes)', async () => {
      const got = await filter('acme/web', '', 'tag')
      expectEq(0, got.length, 'articles')
    })
    await must('artifacts filter: back to acme/web, ci, any event', async () => {
      const got = (await filter('acme/web', 'ci', '')).map((a) => a.id)
      expect(got.includes(W3.id), `${W3.id} missing: ${got}`)
    })
    await shot(page, 'artifacts')

    const before = await history(ENV, APP)
    let resultSeq = 0
    await must(`"Deploy" of ${W3.id} onto ${ENV}: a result page`, async () => {
      await page.selectOption(`${art} form.deploy select[name=env]`, ENV)
      const r = await clickNav(page, `${art} form.deploy button`)
      expectEq(200, r.status(), 'status')
      expectEq(1, await count(page, '#result'), '#result')
    })
    await check('deploy result: #result.ok names the release and links to the app page', async () => {
      const res = await one(page, '#result')
      expect(res.cls.includes('ok'), `#result class "${res.cls.join(' ')}", text: ${res.text}`)
      expectMatch(new RegExp(APP), res.text, '#result text')
      const links = (await all(page, '#result a')).map((a) => a.href)
      expect(links.some((h) => new RegExp(`/ui/env/${ENV}/app/${APP}(\\?|$)`).test(h)), `links: ${links}`)
      const m = res.text.match(/#\s*(\d+)|\bseq\D{0,3}(\d+)|release\s+(\d+)/i)
      resultSeq = m ? Number(m[1] || m[2] || m[3]) : 0
    })
    await shot(page, 'deploy-result')
    await check('deploy result: the API has the new release (artifact, triggeredBy admin)', async () => {
      const h = await history(ENV, APP)
      expectEq(before.length + 1, h.length, 'history length')
      expectEq(W3.id, h[0].artifactId, 'newest artifactId')
      expectEq('deploy', h[0].action, 'action')
      expectMatch(/admin/, h[0].triggeredBy || '', 'triggeredBy')
      if (resultSeq) expectEq(h[0].seq, resultSeq, 'seq on the result page')
    })
  })

  await section('a deploy that fails', async () => {
    const bad = A.bad
    const sel = `main article.artifact[data-id="${bad.id}"]`
    await must('artifacts (acme/web, ci) list the artifact whose render fails', async () => {
      await goto(page, '/ui/artifacts?repository=acme%2Fweb&branch=ci')
      expectEq(1, await count(page, `${sel} form.deploy`), 'its form.deploy')
    })
    const n0 = (await history(ENV)).length
    let pre = ''
    await check('"Deploy" of it: a 4xx page with #result.error', async () => {
      await page.selectOption(`${sel} form.deploy select[name=env]`, ENV)
      const r = await clickNav(page, `${sel} form.deploy button`)
      expect(r.status() >= 400 && r.status() < 500, `status ${r.status()}`)
      const res = await one(page, '#result')
      expect(res.cls.includes('error'), `#result class "${res.cls.join(' ')}": ${res.text.slice(0, 300)}`)
    })
    await shot(page, 'deploy-error')
    await check('the failed deploy\'s pre holds the API\'s error in full', async () => {
      pre = await page.$eval('#result pre', (e) => e.textContent).catch(() => '')
      expect(pre, 'no #result pre')
      const a = await api('POST', '/api/releases', { env: ENV, artifactId: bad.id })
      expectEq(400, a.status, `the API's answer (${a.text.slice(0, 300)})`)
      expect(a.json && a.json.error, 'no error in the API answer')
      expect(norm(pre).includes(norm(a.json.error)), `pre ${JSON.stringify(pre.slice(0, 800))} lacks the API's error ${JSON.stringify(a.json.error)}`)
    })
    await check('the failed deploy changed nothing', async () => {
      expectEq(n0, (await history(ENV)).length, 'release count')
    })
  })

  // ------------------------------------------------------------ live
  await section('live updates', async () => {
    const navs = []
    await goto(page, `/ui/env/${ENV}`)
    await must('env page: body[data-sse=open] (the EventSource is open)', async () => {
      await page.waitForSelector('body[data-sse=open]', { timeout: WAIT, state: 'attached' })
    })
    await page.evaluate(() => { window.__augerNoReload = 'still here' })
    const onNav = (f) => { if (f === page.mainFrame()) navs.push(f.url()) }
    page.on('framenavigated', onNav)
    const row = rowSel(APP)
    const noReload = async () => {
      expectEq('still here', await page.evaluate(() => window.__augerNoReload), 'window marker (a reload clears it)')
      expectEq(0, navs.length, `main-frame navigations ${navs}`)
    }
    const W4 = A.w4
    let rel
    await must(`API deploy of ${W4.id} (POST /api/releases)`, async () => {
      const r = await api('POST', '/api/releases', { env: ENV, artifactId: W4.id })
      expectEq(201, r.status, `status (${r.text.slice(0, 300)})`)
      rel = r.json.releases[0]
    })
    await check('live: the env page shows the new release without a reload', async () => {
      await waitText(page, `${row} td.sha a`, short(W4.sha))
      expectMatch(new RegExp(`commit ${short(W4.sha)}`), (await one(page, `${row} td.version`)).text, 'td.version')
      await noReload()
    })
    // The contract's example line is "release web #3 in staging"; the
    // action's name in place of "release" ("deploy web #3 ...") reads as well.
    await check(`live: ul#live-log says "release ${APP} #${rel.seq} in ${ENV}"`, async () => {
      await waitText(page, 'ul#live-log', { re: `(release|deploy) ${APP} #${rel.seq} in ${ENV}` })
    })
    await check('live: the new release\'s verdict is pending', async () => {
      const s = await one(page, `${row} span.flux`)
      expectEq('', s.attrs['data-status'], 'data-status')
      expect(s.cls.includes('flux-pending'), `class ${s.cls}`)
    })
    const ref = rel.gitopsRef
    for (const [reason, cls] of [['ReconciliationSucceeded', 'flux-ok'], ['ReconciliationFailed', 'flux-fail']]) {
      await check(`live: a signed Flux event ${reason} turns the verdict span ${cls}`, async () => {
        const r = await fluxEvent(ENV, ref, reason)
        expectEq(200, r.status, `POST /api/flux-events (${r.text.slice(0, 200)})`)
        await page.waitForSelector(`${row} td.flux span.flux.${cls}[data-status="${reason}"]`, { timeout: WAIT, state: 'attached' }).catch(async (e) => {
          const now = await page.$eval(`${row} td.flux span.flux`, (x) => x.outerHTML).catch(() => '(no span.flux)')
          throw new Miss(`${String(e).split('\n')[0]}: the span is ${now}`)
        })
        await noReload()
      })
      await check(`live: ul#live-log says "flux ${ENV} ${short(ref)}: ${reason}"`, async () => {
        await waitText(page, 'ul#live-log', { re: `flux ${ENV} ${short(ref)}: ${reason}` })
      })
    }
    await check('live: an API rollback shows the earlier release again', async () => {
      const r = await api('POST', '/api/rollback', { env: ENV, app: APP })
      expectEq(201, r.status, `POST /api/rollback (${r.text.slice(0, 200)})`)
      await waitText(page, `${row} td.sha a`, short(A.w3.sha))
      await noReload()
    })
    await check('live: no script errors, no failed requests from the pages so far', async () => {
      expectEq(0, page.jsErrors.length, `script errors: ${page.jsErrors.join(' | ')}`)
      expectEq(0, page.badRequests.length, `failed requests: ${page.badRequests.join(' | ')}`)
    })
    page.off('framenavigated', onNav)
    await shot(page, 'env-live')
  })

  // ------------------------------------------------------------ app page
  await section('app page', async () => {
    await goto(page, `/ui/env/${ENV}`)
    await must(`a.app-link opens /ui/env/${ENV}/app/${APP}`, async () => {
      const r = await clickNav(page, `${rowSel(APP)} a.app-link`)
      expectEq(200, r.status(), 'status')
      expectEq(`/ui/env/${ENV}/app/${APP}`, pathOf(page.url()), 'path')
    })
    const h = await history(ENV, APP)
    const seqs = h.map((x) => x.seq)
    const cur = h[0]
    const s = (k) => (h.find((x) => x.artifactId === A[k].id && x.action === 'deploy') || {}).seq
    const rows = await page.$$eval('table#history tr.release', (rs) => rs.map((r) => ({
      seq: Number(r.dataset.seq), cls: Array.from(r.classList), text: r.textContent.replace(/\s+/g, ' '),
      manifests: (r.querySelector('a.manifests') || {}).href || null,
      diff: r.querySelector('a.diff') ? r.querySelector('a.diff').getAttribute('href') : null,
      rollback: r.querySelector('a.rollback') ? { href: r.querySelector('a.rollback').getAttribute('href'), text: r.querySelector('a.rollback').textContent.trim() } : null,
    })))
    const by = (q) => rows.find((r) => r.seq === q) || { cls: [], text: '' }
    await check('app page: table#history lists every release, newest first', async () => {
      expectEq(seqs.join(' '), rows.map((r) => r.seq).join(' '), 'data-seq order')
    })
    await check('app page: the newest row is .current and the rollback record is .rollback', async () => {
      expect(rows[0] && rows[0].cls.includes('current'), `first row classes ${rows[0] && rows[0].cls}`)
      expectEq(1, rows.filter((r) => r.cls.includes('current')).length, 'rows with .current')
      expectEq('rollback', cur.action, 'API: newest action')
      expect(rows[0].cls.includes('rollback'), `newest row classes ${rows[0].cls}`)
    })
    await check(`app page: release ${s('w4')} (rolled back) is .rolled-back and says "rolled back"`, async () => {
      const r = by(s('w4'))
      expect(r.cls.includes('rolled-back'), `classes ${r.cls}`)
      expectMatch(/rolled back/i, r.text, 'row text')
      for (const k of ['w1', 'w2', 'w3']) expect(!by(s(k)).cls.includes('rolled-back'), `release ${s(k)} (${k}) is marked rolled-back`)
    })
    await check('app page: every row has a.manifests to release/SEQ', async () => {
      for (const r of rows) expectMatch(new RegExp(`/ui/env/${ENV}/app/${APP}/release/${r.seq}$`), r.manifests || '', `row ${r.seq} a.manifests`)
    })
    await check('app page: a.diff on every non-current row (from it to the current), none on the current', async () => {
      expectEq(null, rows[0].diff, 'current row a.diff')
      for (const r of rows.slice(1)) {
        expect(r.diff, `row ${r.seq} has no a.diff`)
        const u = new URL(r.diff, BASE)
        expectEq(`/ui/env/${ENV}/app/${APP}/diff`, u.pathname, `row ${r.seq} a.diff path`)
        expectEq(String(r.seq), u.searchParams.get('from'), `row ${r.seq} a.diff from`)
        expectEq(String(cur.seq), u.searchParams.get('to'), `row ${r.seq} a.diff to`)
      }
    })
    await check('app page: a.rollback "Roll back to this" on the earlier deploys, not on the current row', async () => {
      expectEq(null, rows[0].rollback, 'current row a.rollback')
      for (const k of ['w1', 'w2', 'w3']) {
        const r = by(s(k))
        expect(r.rollback, `release ${s(k)} has no a.rollback`)
        expectMatch(/roll back to this/i, r.rollback.text, 'link text')
        const u = new URL(r.rollback.href, BASE)
        expectEq(`/ui/env/${ENV}/app/${APP}/rollback`, u.pathname, 'a.rollback path')
        expectEq(String(s(k)), u.searchParams.get('to'), 'a.rollback to')
      }
    })
    await check('app page: no a#older with fewer than 20 releases', async () => { expectEq(0, await count(page, 'a#older'), 'a#older') })
    await shot(page, 'app')

    // Roll back to the first release from the page.
    const s1 = s('w1')
    await must(`"Roll back to this" on release ${s1}: the confirmation page`, async () => {
      const r = await clickNav(page, `${relSel(s1)} a.rollback`)
      expectEq(200, r.status(), 'status')
      expectEq(`/ui/env/${ENV}/app/${APP}/rollback`, pathOf(page.url()), 'path')
    })
    await check('rollback confirmation: names the release', async () => {
      const t = (await one(page, 'main')).text
      expect(t.includes(`#${s1}`) || new RegExp(`release ${s1}\\b`, 'i').test(t) || t.includes(short(A.w1.sha)),
        `neither #${s1} nor ${short(A.w1.sha)} in ${JSON.stringify(t.slice(0, 600))}`)
    })
    await check('rollback confirmation: form#rollback (to, csrf, "Roll back") and a cancel link', async () => {
      expectEq(String(s1), await page.$eval('form#rollback [name=to]', (e) => e.value), 'to')
      await csrfOf(page, 'form#rollback')
      expectMatch(/roll back/i, (await one(page, 'form#rollback button[type=submit]')).text, 'button')
      const links = (await all(page, 'main a')).map((a) => a.href)
      expect(links.some((l) => new RegExp(`/ui/env/${ENV}/app/${APP}$`).test(l)), `no link back to the app page: ${links}`)
    })
    await shot(page, 'rollback-confirm')
    await must('rollback: "Roll back" gives #result.ok', async () => {
      const r = await clickNav(page, 'form#rollback button[type=submit]')
      expectEq(200, r.status(), 'status')
      const res = await one(page, '#result')
      expect(res.cls.includes('ok'), `#result class "${res.cls.join(' ')}": ${res.text}`)
    })
    await shot(page, 'rollback-result')
    await check(`rollback: the API's newest release is a rollback to ${s1}`, async () => {
      const n = await history(ENV, APP)
      expectEq(h.length + 1, n.length, 'history length')
      expectEq('rollback', n[0].action, 'action')
      expectEq(s1, Number(n[0].rollbackTo), 'rollbackTo')
    })
    await check('rollback result: its link opens the app page with the rollback current', async () => {
      await clickNav(page, `#result a[href*="/ui/env/${ENV}/app/${APP}"]`)
      expectEq(`/ui/env/${ENV}/app/${APP}`, pathOf(page.url()), 'path')
      const n = await history(ENV, APP)
      const c = await one(page, 'table#history tr.release.current')
      expectEq(String(n[0].seq), c.attrs['data-seq'], 'current row')
    })
  })

  // ------------------------------------------------------------ manifests and diff
  await section('manifests and diff', async () => {
    const h = await history(ENV, APP)
    const s = (k) => (h.find((x) => x.artifactId === A[k].id && x.action === 'deploy') || {}).seq
    const s3 = s('w3')
    const cur = h[0].seq
    await goto(page, `/ui/env/${ENV}/app/${APP}`)
    await must(`a.manifests of release ${s3}`, async () => {
      const r = await clickNav(page, `${relSel(s3)} a.manifests`)
      expectEq(200, r.status(), 'status')
      expectEq(`/ui/env/${ENV}/app/${APP}/release/${s3}`, pathOf(page.url()), 'path')
    })
    await check('manifests: h3.file per file, each followed by pre.manifest', async () => {
      const files = (await all(page, 'main h3.file')).map((x) => x.text)
      expect(files.some((f) => /deployment\.yaml$/.test(f)), `files: ${files}`)
      expect(files.some((f) => /service\.yaml$/.test(f)), `files: ${files}`)
      expectEq(files.length, await count(page, 'main pre.manifest'), 'pre.manifest count')
      const pairs = await page.$$eval('main h3.file', (hs) => hs.every((h) => {
        let n = h.nextElementSibling
        return n && n.matches('pre.manifest')
      }))
      expect(pairs, 'an h3.file is not directly followed by its pre.manifest')
    })
    await check(`manifests: the Deployment with image ghcr.io/acme/web:${short(A.w3.sha)}…`, async () => {
      const d = await page.$$eval('main h3.file', (hs) => {
        const h = hs.find((x) => /deployment\.yaml$/.test(x.textContent.trim()))
        return h && h.nextElementSibling ? h.nextElementSibling.textContent : ''
      })
      expectMatch(/kind: Deployment/, d, 'deployment.yaml')
      expectMatch(new RegExp(`ghcr\\.io/acme/web:${A.w3.sha}`), d, 'deployment.yaml')
    })
    await shot(page, 'manifests')

    await goto(page, `/ui/env/${ENV}/app/${APP}`)
    await must(`a.diff of release ${s3}`, async () => {
      const r = await clickNav(page, `${relSel(s3)} a.diff`)
      expectEq(200, r.status(), 'status')
      expectEq(`/ui/env/${ENV}/app/${APP}/diff`, pathOf(page.url()), 'path')
    })
    await check(`diff ${s3} -> ${cur}: pre#diff has -…web:${short(A.w3.sha)} and +…web:${short(A.w1.sha)}`, async () => {
      const d = await page.$eval('pre#diff', (e) => e.textContent)
      expectMatch(new RegExp(`^-.*ghcr\\.io/acme/web:${A.w3.sha}`, 'm'), d, 'pre#diff')
      expectMatch(new RegExp(`^\\+.*ghcr\\.io/acme/web:${A.w1.sha}`, 'm'), d, 'pre#diff')
    })
    await shot(page, 'diff')
    await check(`diff of two releases with the same tree: "No differences"`, async () => {
      const r = await goto(page, `/ui/env/${ENV}/app/${APP}/diff?from=${s('w1')}&to=${cur}`)
      expectEq(200, r.status(), 'status')
      expectMatch(/No differences/i, (await one(page, 'main')).text, 'main')
    })
  })

  // ------------------------------------------------------------ paging
  await section('history pages', async () => {
    const h = await history(ENV, F.pagerApp)
    await goto(page, `/ui/env/${ENV}/app/${F.pagerApp}`)
    const seqsOn = () => page.$$eval('table#history tr.release', (rs) => rs.map((r) => Number(r.dataset.seq)))
    await must(`${F.pagerApp} (${h.length} releases): 20 rows, newest first, and a#older`, async () => {
      expectEq(h.slice(0, 20).map((x) => x.seq).join(' '), (await seqsOn()).join(' '), 'rows')
      expectEq(1, await count(page, 'a#older'), 'a#older')
      expectEq(0, await count(page, 'a#newer'), 'a#newer on the first page')
    })
    await check('a#older: the next releases (?offset=20) and a#newer', async () => {
      await clickNav(page, 'a#older')
      expectEq('20', new URL(page.url()).searchParams.get('offset'), 'offset')
      expectEq(h.slice(20, 40).map((x) => x.seq).join(' '), (await seqsOn()).join(' '), 'rows')
      expectEq(1, await count(page, 'a#newer'), 'a#newer')
      expectEq(0, await count(page, 'a#older'), 'a#older on the last page')
    })
    await check('a#newer: back to the first page', async () => {
      await clickNav(page, 'a#newer')
      expectEq(h.slice(0, 20).map((x) => x.seq).join(' '), (await seqsOn()).join(' '), 'rows')
    })
  })

  // ------------------------------------------------------------ previews
  await section('previews', async () => {
    const pv = F.preview.app
    await goto(page, `/ui/env/${ENV}`)
    await must('env page: body[data-sse=open]', async () => {
      await page.waitForSelector('body[data-sse=open]', { timeout: WAIT, state: 'attached' })
    })
    await must(`POST /api/artifact of a preview deploys ${pv}`, async () => {
      const r = await fetch(`${BASE}/api/artifact`, {
        method: 'POST', headers: { Authorization: `Bearer ${F.admin}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(F.preview.artifact), signal: AbortSignal.timeout(30000),
      })
      const j = await r.json().catch(() => ({}))
      expectEq(201, r.status, 'status')
      expectEq(pv, ((j.releases || [])[0] || {}).app, 'the release\'s app')
    })
    await check(`live: table#previews shows ${pv}`, async () => {
      await page.waitForSelector(`table#previews tr.app[data-app="${pv}"]`, { timeout: WAIT, state: 'attached' })
    })
    await check(`env page (reloaded): ${pv} in table#previews, not in table#apps`, async () => {
      await goto(page, `/ui/env/${ENV}`)
      expectEq(1, await count(page, `table#previews tr.app[data-app="${pv}"]`), 'table#previews row')
      expectEq(0, await count(page, `table#apps tr.app[data-app="${pv}"]`), 'table#apps row')
      expectEq(1, await count(page, `table#apps tr.app[data-app="${APP}"]`), `table#apps still lists ${APP}`)
    })
    await shot(page, 'env-previews')
  })

  // ------------------------------------------------------------ forged posts
  await section('forged form posts (admin session)', async () => {
    await goto(page, `/ui/env/${ENV}`)
    const csrf = await csrfOf(page)
    csrfBefore = csrf
    const n0 = (await history(ENV)).length
    const m0 = (await current(ENV, APP)).gitopsRef
    const s2 = (await history(ENV, APP)).find((x) => x.artifactId === A.w2.id && x.action === 'deploy').seq
    const cases = [
      ['/ui/deploy without csrf', '/ui/deploy', { artifact: A.w5.id, env: ENV }],
      ['/ui/deploy with a wrong csrf', '/ui/deploy', { artifact: A.w5.id, env: ENV, csrf: 'x' + csrf.slice(1) }],
      ['rollback without csrf', `/ui/env/${ENV}/app/${APP}/rollback`, { to: String(s2) }],
      ['rollback with a wrong csrf', `/ui/env/${ENV}/app/${APP}/rollback`, { to: String(s2), csrf: 'wrong' }],
    ]
    for (const [name, p, fields] of cases) {
      await check(`forged POST ${name}: 403, .error names the CSRF token`, async () => {
        const r = await postFrom(page, p, fields)
        expectEq(403, r.status, `status (${r.body})`)
        expectMatch(/CSRF token is missing or wrong/i, r.error, '.error')
      })
    }
    await check('a cross-site page auto-submitting the deploy form (with the real csrf) is refused', async () => {
      const evil = 'http://evil.invalid/'
      await page.route(`${evil}**`, (route) => route.fulfill({
        status: 200, contentType: 'text/html',
        body: `<!doctype html><form id=f method=post action="${BASE}/ui/deploy">` +
          `<input name=artifact value="${A.w5.id}"><input name=env value="${ENV}"><input name=csrf value="${csrf}"></form>` +
          '<script>document.getElementById("f").submit()</script>',
      }))
      let status = 0
      const respP = page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === '/ui/deploy', { timeout: WAIT })
        .catch((e) => { log(`cross-site post: no response seen (${String(e).split('\n')[0]})`); return null })
      // The form's submission interrupts this navigation: its error is expected.
      await page.goto(evil).catch(() => {})
      const resp = await respP
      if (resp) {
        status = resp.status()
        const h = await resp.request().allHeaders().catch(() => ({}))
        log(`cross-site post: answered ${status}; Origin ${h.origin || '(none)'}; auger_session cookie ${/auger_session=/.test(h.cookie || '') ? 'sent' : 'not sent'}`)
        expect(!/auger_session=/.test(h.cookie || ''), 'the browser sent auger_session on a cross-site POST (SameSite=Strict?)')
      }
      await page.unroute(`${evil}**`)
      // SameSite=Strict keeps the cookie off the request, and the Origin is
      // foreign: either way a 403 (or the browser never sent it at all).
      expect(status === 0 || status === 403, `POST /ui/deploy from evil.invalid answered ${status}`)
    })
    await check('forged posts changed nothing (release count, current release)', async () => {
      expectEq(n0, (await history(ENV)).length, 'release count')
      expectEq(m0, (await current(ENV, APP)).gitopsRef, 'current gitopsRef')
    })
  })

  // ------------------------------------------------------------ sign out
  await section('sign out', async () => {
    await goto(page, `/ui/env/${ENV}`)
    await must('form#signout: 303 to /ui/signin', async () => {
      const [resp] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && pathOf(r.url()) === '/ui/signout', { timeout: WAIT }),
        page.click('form#signout button'),
      ])
      await page.waitForLoadState('load')
      expectEq(303, resp.status(), 'POST /ui/signout status')
      expectEq('/ui/signin', pathOf(page.url()), 'landed on')
    })
    await check('sign out cleared the auger_session cookie', async () => {
      const c = (await ctx.cookies(BASE)).find((x) => x.name === 'auger_session')
      expect(!c || c.value === '', `auger_session still set: ${JSON.stringify(c)}`)
    })
    for (const p of ['/', `/ui/env/${ENV}`, `/ui/env/${ENV}/app/${APP}`, '/ui/artifacts']) {
      await check(`after sign out, ${p} redirects to the sign-in page`, async () => {
        await goto(page, p)
        expectEq('/ui/signin', pathOf(page.url()), 'path')
      })
    }
    await check('the old session cookie is dead server-side: GET / 303 to /ui/signin', async () => {
      expect(sessionCookie, 'no session cookie was captured')
      const r = await raw('GET', '/', sessionCookie)
      expectEq(303, r.status, 'status')
      expectMatch(/\/ui\/signin$/, r.location, 'Location')
    })
    await check('the old session cookie with its csrf cannot POST: 403', async () => {
      const n0 = (await history(ENV)).length
      const r = await raw('POST', '/ui/deploy', sessionCookie, { artifact: A.w5.id, env: ENV, csrf: csrfBefore })
      expectEq(403, r.status, 'status')
      expectEq(n0, (await history(ENV)).length, 'release count')
    })
  })
  await ctx.close()

  // ------------------------------------------------------------ read token
  await section('read token', async () => {
    const { ctx: rctx, page: rp } = await newPage(browser)
    try {
      await must('the read token signs in', async () => {
        const r = await signIn(rp, F.reader)
        expectEq(303, r.status(), 'status')
        expectEq('/', pathOf(rp.url()), 'landed on')
      })
      await check(`#whoami says "${F.readerName} (read)"`, async () => {
        expectMatch(new RegExp(`${F.readerName} \\(read\\)`), (await one(rp, 'header #whoami')).text, '#whoami')
      })
      await check(`overview: ${ENV} shown, ${F.otherEnv} (not readable) not shown`, async () => {
        expectEq(1, await count(rp, `main section.env[data-env="${ENV}"]`), ENV)
        expectEq(0, await count(rp, `main section.env[data-env="${F.otherEnv}"]`), F.otherEnv)
        expect(!(await rp.textContent('main')).includes(F.otherEnv), `"${F.otherEnv}" appears on the overview`)
      })
      await must(`read token: /ui/env/${ENV} shows ${APP}`, async () => {
        const r = await goto(rp, `/ui/env/${ENV}`)
        expectEq(200, r.status(), 'status')
        expectEq(1, await count(rp, rowSel(APP)), 'app row')
      })
      await shot(rp, 'read-env')
      await check('read token: the env page has no form.deploy, no a.rollback', async () => {
        expectEq(0, await count(rp, 'form.deploy'), 'form.deploy')
        expectEq(0, await count(rp, 'a.rollback'), 'a.rollback')
      })
      await check('read token: artifacts are listed without form.deploy', async () => {
        const r = await goto(rp, '/ui/artifacts')
        expectEq(200, r.status(), 'status')
        expectEq(0, await count(rp, 'form.deploy'), 'form.deploy')
      })
      await check('read token: the app page has history but no a.rollback', async () => {
        const r = await goto(rp, `/ui/env/${ENV}/app/${APP}`)
        expectEq(200, r.status(), 'status')
        expect((await count(rp, 'table#history tr.release')) > 0, 'no history rows')
        expectEq(0, await count(rp, 'a.rollback'), 'a.rollback')
      })
      const h = await history(ENV, APP)
      const s1 = h.find((x) => x.artifactId === A.w1.id && x.action === 'deploy').seq
      await check('read token: the rollback confirmation has no form#rollback', async () => {
        await goto(rp, `/ui/env/${ENV}/app/${APP}/rollback?to=${s1}`)
        expectEq(0, await count(rp, 'form#rollback'), 'form#rollback')
      })
      for (const p of [`/ui/env/${F.otherEnv}`, `/ui/env/${F.otherEnv}/app/${APP}`]) {
        await check(`read token: ${p} is 403 or 404`, async () => {
          const r = await goto(rp, p)
          expect([403, 404].includes(r.status()), `status ${r.status()}`)
          expectEq(0, await count(rp, 'tr.app, tr.release'), 'rows of the other env')
        })
      }
      await goto(rp, `/ui/env/${ENV}`)
      const csrf = await csrfOf(rp)
      const n0 = (await history(ENV)).length
      await check('read token: a deploy POST with its own csrf is 403', async () => {
        const r = await postFrom(rp, '/ui/deploy', { artifact: A.w5.id, env: ENV, csrf })
        expectEq(403, r.status, `status (${r.body})`)
      })
      await check('read token: a rollback POST with its own csrf is 403', async () => {
        const r = await postFrom(rp, `/ui/env/${ENV}/app/${APP}/rollback`, { to: String(s1), csrf })
        expectEq(403, r.status, `status (${r.body})`)
      })
      await check('read token: the refused posts changed nothing', async () => {
        expectEq(n0, (await history(ENV)).length, 'release count')
      })
    } finally {
      await rctx.close()
    }
  })

  // ------------------------------------------------------------ no JavaScript
  await section('without JavaScript', async () => {
    const { ctx: nctx, page: np } = await newPage(browser, { javaScriptEnabled: false })
    try {
      await must('no JS: the sign-in form works', async () => {
        const r = await signIn(np, F.admin)
        expectEq(303, r.status(), 'status')
        expectEq('/', pathOf(np.url()), 'landed on')
      })
      await check('no JS: the overview lists the envs', async () => {
        expectEq(1, await count(np, `main section.env[data-env="${ENV}"]`), ENV)
      })
      await check('no JS: the env page shows the current release', async () => {
        await goto(np, `/ui/env/${ENV}`)
        const cur = await current(ENV, APP)
        expectEq(short(cur.version.sha), (await one(np, `${rowSel(APP)} td.sha a`)).text, 'td.sha')
        expectEq(0, await count(np, 'body[data-sse=open]'), 'body[data-sse=open] without JS')
      })
    } finally {
      await nctx.close()
    }
  })
}

main().then(() => {
  process.stdout.write(`done\t${passed}\t${failed}\n`)
  process.exit(0)
}, (e) => {
  fail('the browser driver ran to its end', detailOf(e))
  process.exit(1)
})
