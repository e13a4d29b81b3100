// gogit-driver: the interop suite's driver for go-git v5 (Debian's 5.4.2,
// the library inside Flux). Same command line as every driver
// (tests/interop/README.md):
//
//	gogit-driver ls-remote URL
//	gogit-driver clone URL DIR [--branch B] [--single-branch] [--no-tags] [--depth N]
//	gogit-driver fetch DIR URL [--branch B] [--depth N]
//	gogit-driver push DIR URL [SRC]:DST [--force]
//
// go-git 5.4 speaks protocol v0 only and knows "deepen N" but neither
// deepen-relative, deepen-since nor deepen-not. HTTP: Basic auth, user
// "git", password $AUGER_TOKEN. SSH: the key in $AUGER_SSH_KEY, host keys
// from $AUGER_KNOWN_HOSTS.
package main

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/crypto/ssh/knownhosts"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gogit-driver: "+format+"\n", args...)
	os.Exit(1)
}

func auth(url string) transport.AuthMethod {
	if !strings.HasPrefix(url, "ssh://") {
		return &githttp.BasicAuth{Username: "git", Password: os.Getenv("AUGER_TOKEN")}
	}
	key, known := os.Getenv("AUGER_SSH_KEY"), os.Getenv("AUGER_KNOWN_HOSTS")
	if key == "" || known == "" {
		die("ssh URL needs AUGER_SSH_KEY and AUGER_KNOWN_HOSTS")
	}
	pk, err := gitssh.NewPublicKeysFromFile("git", key, "")
	if err != nil {
		die("ssh key %s: %v", key, err)
	}
	if pk.HostKeyCallback, err = knownhosts.New(known); err != nil {
		die("known_hosts %s: %v", known, err)
	}
	return pk
}

// options parses "--flag" and "--flag value" arguments.
func options(args []string, valued ...string) map[string]string {
	o := map[string]string{}
	for i := 0; i < len(args); i++ {
		k := strings.TrimPrefix(args[i], "--")
		if k == args[i] {
			die("unexpected argument %s", args[i])
		}
		o[k] = ""
		for _, v := range valued {
			if k == v {
				if i++; i >= len(args) {
					die("%s needs a value", args[i-1])
				}
				o[k] = args[i]
			}
		}
	}
	return o
}

func depth(o map[string]string) int {
	s, ok := o["depth"]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		die("bad depth %q", s)
	}
	return n
}

func anonymous(repo *git.Repository, url string) *git.Remote {
	rem, err := repo.CreateRemoteAnonymous(&config.RemoteConfig{Name: "anonymous", URLs: []string{url}})
	if err != nil {
		die("remote %s: %v", url, err)
	}
	return rem
}

func lsRemote(url string) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := rem.List(&git.ListOptions{Auth: auth(url)})
	if err != nil {
		die("ls-remote %s: %v", url, err)
	}
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name() < refs[j].Name() })
	fmt.Println("protocol 1")
	for _, r := range refs {
		h := r.Hash()
		if r.Type() == plumbing.SymbolicReference {
			t, ok := byName[r.Target()]
			if !ok {
				die("%s points to %s, which is not advertised", r.Name(), r.Target())
			}
			h = t.Hash()
		}
		fmt.Printf("%s %s\n", h, r.Name())
	}
}

func cloneRepo(url, dir string, o map[string]string) {
	branch := "main"
	if b, ok := o["branch"]; ok {
		branch = b
	}
	// As git clone: every tag, or on a single branch the tags it reaches.
	_, single := o["single-branch"]
	tags := git.AllTags
	if single {
		tags = git.TagFollowing
	}
	if _, ok := o["no-tags"]; ok {
		tags = git.NoTags
	}
	_, err := git.PlainClone(dir, false, &git.CloneOptions{
		URL:           url,
		Auth:          auth(url),
		ReferenceName: plumbing.NewBranchReferenceName(branch),
		SingleBranch:  single,
		Depth:         depth(o),
		Tags:          tags,
	})
	if err != nil {
		die("clone %s: %v", url, err)
	}
}

func fetch(dir, url string, o map[string]string) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		die("open %s: %v", dir, err)
	}
	b := "*"
	if v, ok := o["branch"]; ok {
		b = v
	}
	spec := config.RefSpec("+refs/heads/" + b + ":refs/remotes/origin/" + b)
	err = anonymous(repo, url).Fetch(&git.FetchOptions{
		RemoteName: "anonymous",
		RefSpecs:   []config.RefSpec{spec},
		Auth:       auth(url),
		Depth:      depth(o),
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		die("fetch %s: %v", url, err)
	}
}

func push(dir, url, spec string, o map[string]string) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		die("open %s: %v", dir, err)
	}
	_, force := o["force"]
	err = anonymous(repo, url).Push(&git.PushOptions{
		RemoteName: "anonymous",
		RefSpecs:   []config.RefSpec{config.RefSpec(spec)},
		Auth:       auth(url),
		Force:      force,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		die("push %s to %s: %v", spec, url, err)
	}
}

func main() {
	a := os.Args[1:]
	switch {
	case len(a) == 2 && a[0] == "ls-remote":
		lsRemote(a[1])
	case len(a) >= 3 && a[0] == "clone":
		cloneRepo(a[1], a[2], options(a[3:], "branch", "depth"))
	case len(a) >= 3 && a[0] == "fetch":
		fetch(a[1], a[2], options(a[3:], "branch", "depth"))
	case len(a) >= 4 && a[0] == "push":
		push(a[1], a[2], a[3], options(a[4:]))
	default:
		die("usage: see the top of main.go")
	}
}
