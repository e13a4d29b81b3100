# Emits a git fast-import stream for the clone benchmark (scripts/bench/clone.sh):
# a monorepo of FILES files in a tree of folders (services/, libs/, web/, docs/,
# deploy/, ... nested up to 6 deep), COMMITS commits on refs/heads/main, a few
# release branches with commits of their own, and annotated tags.
#
#   awk -v FILES=20000 -v COMMITS=2000 -v KEEP=20 -f gen-clone-repo.awk |
#       git fast-import --quiet
#
# - The first commit adds most files; every 4th later commit adds one more, so
#   main's tip has exactly FILES files. Every commit edits 1-5 files (70% of
#   the picks from a set of "hot" files), 1-4 lines each (replace, insert or
#   delete), so most objects in the history are small deltas of each other;
#   every 100th commit also renames a file.
# - Files are text in the shape of source code: lines drawn from a pool of
#   generated lines, plus lines naming the file; 8-258 lines (a few 10x that),
#   about 3 KB on average.
# - Release branches release/1.B fork from main at B/(BRANCHES+1) of its
#   history, get 8 commits each and tags v1.B.0 (fork point) to v1.B.3; main
#   has tags v0.K.0 every COMMITS/8 commits. Every branch and tag is older than
#   main's last KEEP commits, so a client at main~KEEP fetches just those.
# - Own PRNG (Park-Miller, exact in doubles) and fixed dates: the same
#   parameters give the same commit ids under any awk.

function rnd() { S = (S * 16807) % 2147483647; return S / 2147483647 }
function ri(n) { return int(rnd() * n) }

function word() { return W[ri(NW)] }

function camel(w) { return toupper(substr(w, 1, 1)) substr(w, 2) }

function genline(    n, i, s, k) {
	k = ri(10)
	if (k == 0) return ""
	if (k == 1) return "}"
	s = substr("\t\t\t\t", 1, 1 + ri(3))
	if (k == 2) return s "// " word() " " word() " " word() " " word() " " word()
	if (k == 3) return s "func " camel(word()) camel(word()) "(" word() " " word() ", " word() " int) error {"
	if (k == 4) return s "if " word() " != nil && " word() "." camel(word()) " > " ri(1000) " {"
	if (k == 5) return s "return " word() "." camel(word()) "(" word() ", \"" word() "-" word() "\")"
	n = 2 + ri(4)
	s = s word() camel(word()) " := " word()
	for (i = 0; i < n; i++)
		s = s (i ? ", " : "(") word() (ri(3) ? "" : "." camel(word()))
	return s ")"
}

# a file's text: a header naming it, then lines from the pool, some naming it
function newfile(path, id,    n, i, s, base, L) {
	n = 8 + int(rnd() ^ 3 * 250)
	if (ri(200) == 0) n *= 10
	base = path; sub(/.*\//, "", base); sub(/\..*/, "", base)
	s = "// " path "\n// Copyright 2021 Example Corp. Generated for the auger clone benchmark.\n\n" \
	    "package " base "\n\n"
	for (i = 1; i <= n; i++) {
		if (ri(12) == 0) L[i] = "\t" base "_" id "_" i " := " word() "(" base ")"
		else L[i] = P[ri(NP)]
	}
	return s join(L, n)
}

# L[1..n] as lines; built in chunks, not one line at a time (quadratic)
function join(L, n,    k, out, chunk) {
	out = ""; chunk = ""
	for (k = 1; k <= n; k++) {
		chunk = chunk L[k] "\n"
		if (k % 32 == 0) { out = out chunk; chunk = "" }
	}
	return out chunk
}

# 1-4 line edits: replace, insert or delete a line (never the header)
function edit(text,    n, L, e, e2, k, j) {
	n = split(text, L, "\n")	# the text ends in "\n": L[n] is ""
	n--
	for (e = 1 + ri(4); e > 0; e--) {
		k = 6 + ri(n > 6 ? n - 5 : 1)
		if (k > n) k = n
		j = ri(3)
		if (j == 0 && n > 10) {		# delete
			for (; k < n; k++) L[k] = L[k + 1]
			n--
		} else if (j == 1) {		# insert
			for (e2 = n; e2 >= k; e2--) L[e2 + 1] = L[e2]
			L[k] = genline(); n++
		} else
			L[k] = genline()
	}
	return join(L, n)
}

function blob(path, content) {
	printf "M 100644 inline %s\ndata %d\n%s\n", path, length(content), content
}

function commit(ref, mark, t, msg, from) {
	printf "commit %s\nmark :%d\n", ref, mark
	printf "author %s %d +0000\ncommitter %s %d +0000\n", A[mark % NA], t, A[mark % NA], t
	printf "data %d\n%s\n", length(msg), msg
	if (from != "") printf "from %s\n", from
}

function tag(name, mark, t,    msg) {
	msg = "Release " name "\n"
	printf "tag %s\nfrom :%d\ntagger Release Bot <release@example.com> %d +0000\ndata %d\n%s\n", \
	    name, mark, t, length(msg), msg
}

# pick a file on main: 70% from the hot set
function pick() {
	if (ri(10) < 7) return HOT[ri(NHOT)]
	return LIVE[ri(NLIVE)]
}

function rename(    i, h, old, nw) {
	i = ri(NLIVE); old = LIVE[i]
	nw = old; sub(/\.[a-z]+$/, "", nw); nw = nw "_v2" substr(old, length(nw) + 1)
	if (nw in C) return ""
	printf "D %s\n", old
	C[nw] = C[old]; delete C[old]; LIVE[i] = nw
	for (h = 0; h < NHOT; h++) if (HOT[h] == old) HOT[h] = nw
	blob(nw, C[nw])
	return old " -> " nw
}

BEGIN {
	if (FILES < 10) FILES = 20000
	if (COMMITS < 20) COMMITS = 2000
	if (KEEP < 1) KEEP = 20
	if (BRANCHES < 0 || BRANCHES == "") BRANCHES = 3
	S = 42
	NW = split("account admin agent alert api apply audit auth backend batch bill " \
	    "bucket build cache cart chart check client cluster config console consumer " \
	    "context core cron data debug deploy device diff digest dispatch dns docker " \
	    "domain draft edge email engine entry event export feature feed fetch file " \
	    "filter flag flow form gateway graph group handler hash health helm history " \
	    "hook host image import index ingress inventory invoice job journal key label " \
	    "ledger limit link list loader lock log mail manifest map market media merge " \
	    "mesh meta metric migrate mirror model monitor mount node notify oauth object " \
	    "order owner pack page parser patch payment peer pipeline plan plugin policy " \
	    "pool port portal price probe profile proxy publish queue quota rate reader " \
	    "record redis region registry release render replica report repo request " \
	    "resolve resource retry review role route rule runner scan schema scope search " \
	    "secret server service session shard shell signal snapshot socket source span " \
	    "stage state status step storage store stream sync table task team tenant " \
	    "test thread ticket token topic trace tracker transfer tree trigger update " \
	    "upload user util value vault version view volume wallet watch webhook worker " \
	    "writer zone", W0, " ")
	for (i = 1; i <= NW; i++) W[i - 1] = W0[i]
	NA = split("Ada Lovelace <ada@example.com>|Grace Hopper <grace@example.com>|" \
	    "Linus Torvalds <linus@example.com>|Margaret Hamilton <margaret@example.com>|" \
	    "Ken Thompson <ken@example.com>|Barbara Liskov <barbara@example.com>|" \
	    "Dennis Ritchie <dennis@example.com>", A0, "|")
	for (i = 1; i <= NA; i++) A[i - 1] = A0[i]
	NP = 8192
	for (i = 0; i < NP; i++) P[i] = genline()

	# folders: areas, then child folders under random parents, up to 6 deep
	na = split("services:go libs:c web:ts docs:md deploy:yaml tools:py api:proto " \
	    "config:yaml tests:go scripts:sh", AR, " ")
	nd = 0
	for (i = 1; i <= na; i++) {
		split(AR[i], x, ":"); D[nd] = x[1]; DEP[nd] = 1; EXT[nd] = x[2]; nd++
	}
	ndirs = int(FILES / 12); if (ndirs < na) ndirs = na
	while (nd < ndirs) {
		p = ri(nd)
		if (DEP[p] >= 6) continue
		name = D[p] "/" word() (ri(3) ? "" : "-" word())
		if (name in ISDIR) continue
		ISDIR[name] = 1; D[nd] = name; DEP[nd] = DEP[p] + 1; EXT[nd] = EXT[p]; nd++
	}
	# file paths, some folders much fuller than others
	for (f = 0; f < FILES; f++) {
		do {
			d = int(rnd() ^ 1.5 * nd)
			e = EXT[d]
			if (e == "c" && ri(3) == 0) e = "h"
			if (e == "ts" && ri(4) == 0) e = "css"
			if (e == "go" && ri(4) == 0) { e = "go"; sfx = "_test" } else sfx = ""
			path = D[d] "/" word() "_" word() sfx "." e
		} while (path in SEEN)
		SEEN[path] = 1; PATH[f] = path
	}

	nadd = int((COMMITS - 1) / 4)
	ninit = FILES - nadd
	NHOT = int(FILES / 40); if (NHOT < 10) NHOT = 10
	t0 = 1600000000
	for (b = 1; b <= BRANCHES; b++)
		if (int(COMMITS * b / (BRANCHES + 1)) < COMMITS - KEEP)
			FORK[int(COMMITS * b / (BRANCHES + 1))] = b
	tagevery = int(COMMITS / 8)

	commit("refs/heads/main", 1, t0, "Initial import: " ninit " files\n", "")
	NLIVE = 0
	for (f = 0; f < ninit; f++) {
		C[PATH[f]] = newfile(PATH[f], f); blob(PATH[f], C[PATH[f]])
		LIVE[NLIVE++] = PATH[f]
	}
	for (h = 0; h < NHOT; h++) HOT[h] = LIVE[ri(NLIVE)]
	print ""
	next_add = ninit; bmark = 1000000

	for (i = 1; i < COMMITS; i++) {
		t = t0 + i * 3600
		k = 1 + ri(5)
		for (j = 0; j < k; j++) { PK[j] = pick(); for (q = 0; q < j; q++) if (PK[q] == PK[j]) { j--; break } }
		split(PK[0], x, "/")
		msg = x[1] "/" x[2] ": " word() " " word() " in " k " file" (k > 1 ? "s" : "") "\n\n" \
		    "Touches " PK[0] (k > 1 ? " and " (k - 1) " more" : "") ".\n"
		commit("refs/heads/main", i + 1, t, msg, "")
		for (j = 0; j < k; j++) { C[PK[j]] = edit(C[PK[j]]); blob(PK[j], C[PK[j]]) }
		if (i % 4 == 0 && next_add < FILES) {
			p = PATH[next_add]; C[p] = newfile(p, next_add); blob(p, C[p])
			LIVE[NLIVE++] = p; next_add++
		}
		if (i % 100 == 50) rename()
		print ""
		if (i < COMMITS - KEEP && tagevery > 0 && i % tagevery == 0)
			tag("v0." (i / tagevery) ".0", i + 1, t + 60)
		if (i in FORK) {
			b = FORK[i]; ref = "refs/heads/release/1." b
			tag("v1." b ".0", i + 1, t + 120)
			split("", BR)
			for (c = 0; c < 8; c++) {
				bmark++
				commit(ref, bmark, t + 600 + c * 300, "release/1." b ": fix " word() " " word() "\n", \
				    c == 0 ? ":" (i + 1) : "")
				for (j = 1 + ri(3); j > 0; j--) {
					p = LIVE[ri(NLIVE)]
					BR[p] = edit(p in BR ? BR[p] : C[p]); blob(p, BR[p])
				}
				print ""
				if (c % 3 == 1) tag("v1." b "." (1 + int(c / 3)), bmark, t + 700 + c * 300)
			}
		}
	}
}
