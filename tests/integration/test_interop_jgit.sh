#!/usr/bin/env bash
# The interop case list (interop_lib.sh) with JGit (Debian's libjgit-java,
# through its API: tests/interop/jgit/Driver.java; SSH through JSch), over
# HTTP and SSH.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ssh_lib.sh"
. "$(dirname "$0")/interop_lib.sh"

J=/usr/share/java
CLIENT=JGit
[ -f $J/org.eclipse.jgit.jar ] || skip_client "libjgit-java is not installed (sh scripts/deps.sh)"
command -v javac >/dev/null 2>&1 || skip_client "no JDK (javac) installed (sh scripts/deps.sh)"
CLIENT="JGit $(dpkg-query -W -f='${Version}' libjgit-java 2>/dev/null)"
CP=$J/org.eclipse.jgit.jar:$J/jsch.jar:$J/javaewah.jar:$J/slf4j-api.jar:$J/slf4j-nop.jar:$J/jzlib.jar
OUTDIR=$ROOT/build/interop/jgit
SRC=$ROOT/tests/interop/jgit/Driver.java
if [ ! -f "$OUTDIR/Driver.class" ] || [ "$SRC" -nt "$OUTDIR/Driver.class" ]; then
	mkdir -p "$OUTDIR"
	out=$(timeout -k 5 120 javac -Xlint:all,-path -d "$OUTDIR" -cp "$CP" "$SRC" 2>&1) ||
		die "compiling the JGit driver failed" "$out"
fi
CLIENT_CMD=(java -Xshare:auto -XX:TieredStopAtLevel=1 -cp "$OUTDIR:$CP" Driver)
# JSch 0.1.54 reads neither ed25519 keys nor OpenSSH's new key format.
CLIENT_KEY=ecdsa-pem
client_cant() {
	case $1 in
	ls-remote-v2) echo "JGit 4.11 speaks protocol v0 only" ;;
	depth-1 | deepen | deepen-relative | shallow-since | shallow-exclude | multi-want-depth)
		echo "JGit 4.11 cannot fetch shallow (it came in JGit 6.3)" ;;
	esac
}

interop_main
