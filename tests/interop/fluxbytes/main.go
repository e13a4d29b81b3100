// fluxbytes: replays, byte for byte, the smart-HTTP exchange that Flux's
// source-controller (go-git 5, protocol v0) makes for a depth-1 clone of one
// branch, and checks the framing of the server's answer.
//
//	fluxbytes [--no-multi-ack] [--ref REF] URL OUTPACK
//
// URL is http://HOST:PORT/NAME.git. Credentials: HTTP Basic with AUGER_USER
// (default "git") and AUGER_TOKEN. The pack carried on band 1 is written to
// OUTPACK, so that the caller can feed it to `git index-pack --stdin`.
//
// Output: one line per check, "PASS <what>" or "FAIL <what>: <detail>", then
// "TIP <hash>". Exit status 0 when every check passed, 1 otherwise.
// Standard library only, so that it builds even without go-git.
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"io/ioutil"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

var failed bool

func pass(what string) { fmt.Printf("PASS %s\n", what) }

func failf(what, format string, args ...interface{}) {
	failed = true
	fmt.Printf("FAIL %s: %s\n", what, fmt.Sprintf(format, args...))
}

// stop reports a failure after which nothing else can be checked.
func stop(what, format string, args ...interface{}) {
	failf(what, format, args...)
	os.Exit(1)
}

func pkt(s string) []byte { return []byte(fmt.Sprintf("%04x%s", len(s)+4, s)) }

// pktReader reads pkt-lines from a byte slice and remembers the offset.
type pktReader struct {
	b   []byte
	off int
}

const (
	kindData = iota
	kindFlush
	kindDelim
	kindEnd
)

// next returns the kind and payload of the next pkt-line.
func (r *pktReader) next() (int, []byte, error) {
	if r.off+4 > len(r.b) {
		return 0, nil, fmt.Errorf("truncated pkt-line header at offset %d (%d bytes left)", r.off, len(r.b)-r.off)
	}
	hdr := string(r.b[r.off : r.off+4])
	n, err := strconv.ParseUint(hdr, 16, 16)
	if err != nil {
		return 0, nil, fmt.Errorf("bad pkt-line length %q at offset %d", hdr, r.off)
	}
	switch n {
	case 0:
		r.off += 4
		return kindFlush, nil, nil
	case 1:
		r.off += 4
		return kindDelim, nil, nil
	case 2:
		r.off += 4
		return kindEnd, nil, nil
	case 3:
		return 0, nil, fmt.Errorf("invalid pkt-line length 0003 at offset %d", r.off)
	}
	if n > 65520 {
		return 0, nil, fmt.Errorf("pkt-line length %d > 65520 at offset %d", n, r.off)
	}
	if r.off+int(n) > len(r.b) {
		return 0, nil, fmt.Errorf("truncated pkt-line at offset %d: length %d, %d bytes left", r.off, n, len(r.b)-r.off)
	}
	p := r.b[r.off+4 : r.off+int(n)]
	r.off += int(n)
	return kindData, p, nil
}

func (r *pktReader) done() bool { return r.off >= len(r.b) }

func main() {
	args := os.Args[1:]
	multiAck := true
	wantRef := ""
	for len(args) > 0 && strings.HasPrefix(args[0], "--") {
		switch args[0] {
		case "--no-multi-ack":
			multiAck = false
			args = args[1:]
		case "--ref":
			if len(args) < 2 {
				os.Exit(2)
			}
			wantRef = args[1]
			args = args[2:]
		default:
			fmt.Fprintln(os.Stderr, "usage: fluxbytes [--no-multi-ack] [--ref REF] URL OUTPACK")
			os.Exit(2)
		}
	}
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fluxbytes [--no-multi-ack] [--ref REF] URL OUTPACK")
		os.Exit(2)
	}
	base := strings.TrimSuffix(args[0], "/")
	outPack := args[1]
	user := os.Getenv("AUGER_USER")
	if user == "" {
		user = "git"
	}
	token := os.Getenv("AUGER_TOKEN")
	client := &http.Client{Timeout: 60 * time.Second}

	// 1. The ref advertisement.
	req, _ := http.NewRequest("GET", base+"/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth(user, token)
	req.Header.Set("User-Agent", "go-git/5.x")
	req.Header.Set("Accept", "*/*")
	resp, err := client.Do(req)
	if err != nil {
		stop("GET info/refs", "%v", err)
	}
	adv, err := ioutil.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		stop("GET info/refs", "reading body: %v", err)
	}
	if resp.StatusCode != 200 {
		stop("GET info/refs status 200", "got %d: %q", resp.StatusCode, adv)
	}
	pass("GET info/refs status 200")
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-git-upload-pack-advertisement" {
		failf("info/refs Content-Type", "got %q", ct)
	} else {
		pass("info/refs Content-Type")
	}
	ar := &pktReader{b: adv}
	k, p, err := ar.next()
	if err != nil || k != kindData || strings.TrimSuffix(string(p), "\n") != "# service=git-upload-pack" {
		stop("advertisement starts with # service=git-upload-pack", "got kind %d %q err %v", k, p, err)
	}
	if k, _, err = ar.next(); err != nil || k != kindFlush {
		stop("flush after the service line", "got kind %d err %v", k, err)
	}
	pass("advertisement service header")
	refs := map[string]string{}
	var caps string
	first := true
	for {
		k, p, err = ar.next()
		if err != nil {
			stop("advertisement pkt-lines", "%v", err)
		}
		if k == kindFlush {
			break
		}
		line := strings.TrimSuffix(string(p), "\n")
		if first {
			if i := strings.IndexByte(line, 0); i >= 0 {
				caps = line[i+1:]
				line = line[:i]
			} else {
				failf("capabilities on the first ref line", "no NUL in %q", line)
			}
			first = false
		}
		f := strings.SplitN(line, " ", 2)
		if len(f) != 2 || len(f[0]) != 40 {
			stop("advertisement ref line", "bad line %q", line)
		}
		refs[f[1]] = f[0]
	}
	if !ar.done() {
		failf("nothing after the advertisement's flush", "%d bytes follow", len(adv)-ar.off)
	}
	pass("advertisement parsed")
	for _, c := range []string{"multi_ack_detailed", "side-band-64k", "ofs-delta", "shallow", "no-progress"} {
		found := false
		for _, have := range strings.Fields(caps) {
			if have == c {
				found = true
			}
		}
		if !found {
			failf("capability "+c+" advertised", "caps: %q", caps)
		}
	}
	tip := ""
	if wantRef != "" {
		tip = refs[wantRef]
	} else if t, ok := refs["refs/heads/main"]; ok {
		tip = t
	} else {
		tip = refs["HEAD"]
	}
	if tip == "" {
		stop("tip found in the advertisement", "refs: %v", refs)
	}
	fmt.Printf("TIP %s\n", tip)

	// 2. The one upload-pack request, exactly as go-git writes it.
	var body bytes.Buffer
	capList := "multi_ack_detailed side-band-64k ofs-delta shallow no-progress agent=go-git/5.x"
	if !multiAck {
		capList = "side-band-64k ofs-delta shallow no-progress agent=go-git/5.x"
	}
	body.Write(pkt("want " + tip + " " + capList + "\n"))
	body.Write(pkt("deepen 1\n"))
	body.WriteString("0000")
	body.Write(pkt("done\n"))
	req, _ = http.NewRequest("POST", base+"/git-upload-pack", bytes.NewReader(body.Bytes()))
	req.SetBasicAuth(user, token)
	req.Header.Set("User-Agent", "go-git/5.x")
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Accept", "application/x-git-upload-pack-result")
	resp, err = client.Do(req)
	if err != nil {
		stop("POST git-upload-pack", "%v", err)
	}
	res, err := ioutil.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		stop("POST git-upload-pack", "reading body: %v", err)
	}
	if resp.StatusCode != 200 {
		stop("POST git-upload-pack status 200", "got %d: %q", resp.StatusCode, trunc(res))
	}
	pass("POST git-upload-pack status 200")
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-git-upload-pack-result" {
		failf("upload-pack result Content-Type", "got %q", ct)
	} else {
		pass("upload-pack result Content-Type")
	}

	r := &pktReader{b: res}
	// shallow section
	var shallows []string
	for {
		k, p, err = r.next()
		if err != nil {
			stop("shallow section", "%v; reply starts %q", err, trunc(res))
		}
		if k == kindFlush {
			break
		}
		if k != kindData || !strings.HasPrefix(string(p), "shallow ") {
			stop("shallow section ends with a flush", "got kind %d %q", k, trunc(p))
		}
		shallows = append(shallows, strings.TrimSuffix(string(p), "\n"))
	}
	if len(shallows) == 1 && shallows[0] == "shallow "+tip {
		pass("exactly one 'shallow <tip>' line, then flush")
	} else {
		failf("exactly one 'shallow <tip>' line, then flush", "got %q", shallows)
	}
	// exactly one NAK
	k, p, err = r.next()
	if err != nil || k != kindData || strings.TrimSuffix(string(p), "\n") != "NAK" {
		stop("NAK after the shallow section", "got kind %d %q err %v", k, trunc(p), err)
	}
	if string(p) != "NAK\n" {
		failf("NAK pkt is 'NAK\\n'", "got %q", p)
	}
	pass("one NAK")
	// side-band packets until the flush
	var pack bytes.Buffer
	nBand1, nBand2, maxLen := 0, 0, 0
	for {
		k, p, err = r.next()
		if err != nil {
			stop("side-band stream", "%v", err)
		}
		if k == kindFlush {
			break
		}
		if k != kindData {
			stop("side-band stream", "unexpected special pkt kind %d", k)
		}
		if len(p)+4 > maxLen {
			maxLen = len(p) + 4
		}
		if len(p) == 0 {
			stop("side-band pkt has a band byte", "empty pkt-line")
		}
		switch p[0] {
		case 1:
			nBand1++
			pack.Write(p[1:])
		case 2:
			nBand2++
		case 3:
			stop("no band-3 error", "server error: %q", p[1:])
		default:
			if pack.Len() == 0 && string(p) == "NAK\n" {
				stop("exactly one NAK", "a second NAK followed")
			}
			stop("side-band pkt has band 1, 2 or 3", "band %d, pkt %q", p[0], trunc(p))
		}
	}
	pass(fmt.Sprintf("side-band stream ends with a flush (%d band-1, %d band-2 pkts, longest %d bytes)", nBand1, nBand2, maxLen))
	if maxLen > 65520 {
		failf("side-band-64k pkts at most 65520 bytes", "longest %d", maxLen)
	}
	if nBand2 > 0 {
		// no-progress was asked; band 2 is allowed but noted.
		fmt.Printf("NOTE %d band-2 packets despite no-progress\n", nBand2)
	}
	if r.done() {
		pass("nothing after the final flush")
	} else {
		failf("nothing after the final flush", "%d bytes follow: %q", len(res)-r.off, trunc(res[r.off:]))
	}
	pk := pack.Bytes()
	if len(pk) < 32 || string(pk[:4]) != "PACK" {
		stop("band-1 payload is a pack", "starts %q (%d bytes)", trunc(pk), len(pk))
	}
	if v := binary.BigEndian.Uint32(pk[4:8]); v != 2 {
		failf("pack version 2", "got %d", v)
	}
	sum := sha1.Sum(pk[:len(pk)-20])
	if !bytes.Equal(sum[:], pk[len(pk)-20:]) {
		failf("pack trailer is the SHA-1 of the pack", "mismatch")
	} else {
		pass(fmt.Sprintf("band-1 payload is a pack (%d objects, %d bytes)", binary.BigEndian.Uint32(pk[8:12]), len(pk)))
	}
	if err := ioutil.WriteFile(outPack, pk, 0644); err != nil {
		stop("write "+outPack, "%v", err)
	}
	if failed {
		os.Exit(1)
	}
}

func trunc(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}
