// gogit-client: a git client built on go-git v5 (the library inside Flux's
// source-controller), used by the integration tests to check that auger
// serves what Flux asks for.
//
//	gogit-client ls-refs URL
//	    prints every advertised ref, sorted by name, one per line:
//	    "<hash> <name>" or "-> <target> <name>" for a symbolic ref.
//	gogit-client clone URL DIR [--depth N] [--branch NAME] [--tags] [--no-list]
//	    Flux's pattern: first remote.List (to learn the tip), then
//	    git.PlainClone with SingleBranch, Depth, Tags: NoTags (unless --tags),
//	    ReferenceName refs/heads/NAME. Prints "HEAD <hash>" on success, and
//	    "listed <hash>" for the tip that remote.List reported.
//
// Credentials: for http(s) URLs, HTTP Basic from AUGER_USER (default "git")
// and AUGER_TOKEN; none when AUGER_TOKEN is unset. For ssh:// URLs, the
// private key in AUGER_SSH_KEY (user from the URL, default "git") and the
// known_hosts file in AUGER_KNOWN_HOSTS.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
	"golang.org/x/crypto/ssh/knownhosts"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: gogit-client ls-refs URL")
	fmt.Fprintln(os.Stderr, "       gogit-client clone URL DIR [--depth N] [--branch NAME] [--tags] [--no-list]")
	os.Exit(2)
}

func fatal(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "gogit-client: "+format+"\n", args...)
	os.Exit(1)
}

func auth(url string) transport.AuthMethod {
	if strings.HasPrefix(url, "ssh://") || (strings.Contains(url, "@") && !strings.Contains(url, "://")) {
		key := os.Getenv("AUGER_SSH_KEY")
		if key == "" {
			fatal("ssh URL needs AUGER_SSH_KEY")
		}
		user := "git"
		if ep, err := transport.NewEndpoint(url); err == nil && ep.User != "" {
			user = ep.User
		}
		pk, err := gitssh.NewPublicKeysFromFile(user, key, "")
		if err != nil {
			fatal("ssh key %s: %v", key, err)
		}
		kh := os.Getenv("AUGER_KNOWN_HOSTS")
		if kh == "" {
			fatal("ssh URL needs AUGER_KNOWN_HOSTS")
		}
		cb, err := knownhosts.New(kh)
		if err != nil {
			fatal("known_hosts %s: %v", kh, err)
		}
		pk.HostKeyCallback = cb
		return pk
	}
	tok, set := os.LookupEnv("AUGER_TOKEN")
	if !set {
		return nil
	}
	user := os.Getenv("AUGER_USER")
	if user == "" {
		user = "git"
	}
	return &githttp.BasicAuth{Username: user, Password: tok}
}

func list(url string) ([]*plumbing.Reference, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{
		Name: git.DefaultRemoteName,
		URLs: []string{url},
	})
	refs, err := rem.List(&git.ListOptions{Auth: auth(url)})
	if err != nil {
		return nil, err
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Name() < refs[j].Name() })
	return refs, nil
}

func lsRefs(args []string) {
	if len(args) != 1 {
		usage()
	}
	refs, err := list(args[0])
	if err != nil {
		fatal("ls-refs %s: %v", args[0], err)
	}
	for _, r := range refs {
		if r.Type() == plumbing.SymbolicReference {
			fmt.Printf("-> %s %s\n", r.Target(), r.Name())
		} else {
			fmt.Printf("%s %s\n", r.Hash(), r.Name())
		}
	}
}

func clone(args []string) {
	if len(args) < 2 {
		usage()
	}
	url, dir := args[0], args[1]
	depth := 0
	branch := "main"
	tags := git.NoTags
	doList := true
	for i := 2; i < len(args); i++ {
		switch args[i] {
		case "--depth":
			i++
			if i >= len(args) {
				usage()
			}
			n, err := strconv.Atoi(args[i])
			if err != nil {
				usage()
			}
			depth = n
		case "--branch":
			i++
			if i >= len(args) {
				usage()
			}
			branch = args[i]
		case "--tags":
			tags = git.AllTags
		case "--no-list":
			doList = false
		default:
			usage()
		}
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if doList {
		// Flux lists the remote first to see whether the tip moved.
		refs, err := list(url)
		if err != nil {
			fatal("list %s: %v", url, err)
		}
		found := false
		for _, r := range refs {
			if r.Name() == ref {
				fmt.Printf("listed %s\n", r.Hash())
				found = true
			}
		}
		if !found {
			fatal("list %s: %s not advertised", url, ref)
		}
	}
	repo, err := git.PlainClone(dir, false, &git.CloneOptions{
		URL:           url,
		Auth:          auth(url),
		RemoteName:    git.DefaultRemoteName,
		ReferenceName: ref,
		SingleBranch:  true,
		NoCheckout:    false,
		Depth:         depth,
		Tags:          tags,
	})
	if err != nil {
		fatal("clone %s: %v", url, err)
	}
	head, err := repo.Head()
	if err != nil {
		fatal("clone %s: HEAD: %v", url, err)
	}
	if _, err := repo.CommitObject(head.Hash()); err != nil {
		fatal("clone %s: HEAD commit %s: %v", url, head.Hash(), err)
	}
	fmt.Printf("HEAD %s\n", head.Hash())
}

// caBundle: with AUGER_CA_FILE set, https URLs trust that PEM bundle only
// (as Flux's GitRepository secret with a ca.crt does), on a new transport.
func caBundle() {
	f := os.Getenv("AUGER_CA_FILE")
	if f == "" {
		return
	}
	pem, err := os.ReadFile(f)
	if err != nil {
		fatal("CA file %s: %v", f, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		fatal("CA file %s: no certificate in it", f)
	}
	client.InstallProtocol("https", githttp.NewClient(&http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}))
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	caBundle()
	switch os.Args[1] {
	case "ls-refs":
		lsRefs(os.Args[2:])
	case "clone":
		clone(os.Args[2:])
	default:
		usage()
	}
}
