// The interop suite's driver for isomorphic-git (HTTP only: it has no SSH
// transport). Same command line as every driver (tests/interop/README.md):
//
//   node driver.js ls-remote URL [--v2]
//   node driver.js clone URL DIR [--branch B] [--single-branch] [--no-tags]
//                                [--depth N] [--since EPOCH] [--exclude REF]
//   node driver.js fetch DIR URL [--branch B] [--depth N] [--deepen N]
//                                [--since EPOCH] [--exclude REF]
//   node driver.js push DIR URL [SRC]:DST [--force]
//
// HTTP Basic auth: user "git", password $AUGER_TOKEN. isomorphic-git is
// loaded from $ISOGIT_MODULES (the suite installs it there with npm).
'use strict'
const path = require('path')
const fs = require('fs')
const modules = process.env.ISOGIT_MODULES || 'node_modules'
const git = require(path.resolve(modules, 'isomorphic-git'))
const http = require(path.resolve(modules, 'isomorphic-git/http/node'))

function die(msg) {
  process.stderr.write(`isogit-driver: ${msg}\n`)
  process.exit(1)
}

const onAuth = () => ({ username: 'git', password: process.env.AUGER_TOKEN || '' })

// Options after the positional arguments: "--flag" or "--flag value".
function options(args, flags, valued) {
  const o = {}
  for (let i = 0; i < args.length; i++) {
    const k = args[i].replace(/^--/, '')
    if (valued.includes(k) && i + 1 < args.length) o[k] = args[++i]
    else if (flags.includes(k)) o[k] = true
    else die(`unknown option ${args[i]}`)
  }
  return o
}

// The deepen options, in isomorphic-git's names.
function shallow(o) {
  const s = {}
  if (o.depth) s.depth = Number(o.depth)
  if (o.deepen) { s.depth = Number(o.deepen); s.relative = true }
  if (o.since) s.since = new Date(Number(o.since) * 1000)
  if (o.exclude) s.exclude = [o.exclude]
  return s
}

async function lsRemote(url, args) {
  const o = options(args, ['v2'], [])
  const version = o.v2 ? 2 : 1
  const info = await git.getRemoteInfo2({ http, url, onAuth, protocolVersion: version })
  console.log(`protocol ${info.protocolVersion}`)
  const refs = await git.listServerRefs({ http, url, onAuth, protocolVersion: version })
  refs.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))
  for (const r of refs) console.log(`${r.oid} ${r.ref}`)
}

async function clone(url, dir, args) {
  const o = options(args, ['single-branch', 'no-tags'],
    ['branch', 'depth', 'since', 'exclude'])
  await git.clone({
    fs, http, dir, url, onAuth,
    ref: o.branch || 'main',
    singleBranch: !!o['single-branch'],
    noTags: !!o['no-tags'],
    ...shallow(o),
  })
}

async function fetch(dir, url, args) {
  const o = options(args, [], ['branch', 'depth', 'deepen', 'since', 'exclude'])
  await git.fetch({
    fs, http, dir, url, onAuth,
    remote: 'origin',
    ref: o.branch,
    singleBranch: !!o.branch,
    tags: false,
    ...shallow(o),
  })
}

async function push(dir, url, spec, args) {
  const o = options(args, ['force'], [])
  const i = spec.indexOf(':')
  if (i < 0) die(`refspec ${spec} has no ":"`)
  const src = spec.slice(0, i)
  const dst = spec.slice(i + 1)
  const res = await git.push({
    fs, http, dir, url, onAuth,
    ref: src || dst,
    remoteRef: dst,
    force: !!o.force,
    delete: src === '',
  })
  if (!res.ok) die(`push ${spec}: ${res.error}`)
  for (const [ref, r] of Object.entries(res.refs)) {
    if (!r.ok) die(`push ${spec}: ${ref}: ${r.error}`)
  }
}

async function main(argv) {
  const [op, a, b, ...rest] = argv
  switch (op) {
    case 'ls-remote': return lsRemote(a, [b, ...rest].filter(x => x !== undefined))
    case 'clone': return clone(a, b, rest)
    case 'fetch': return fetch(a, b, rest)
    case 'push': return push(a, b, rest[0] || die('push needs a refspec'), rest.slice(1))
    default: die('usage: see the top of driver.js')
  }
}

main(process.argv.slice(2)).catch(e => die(`${e.code || e.name}: ${e.message}`))
