// The interop suite's driver for JGit, Debian's libjgit-java (4.11), through
// its API. Same command line as every driver (tests/interop/README.md):
//
//   java Driver ls-remote URL
//   java Driver clone URL DIR [--branch B] [--single-branch] [--no-tags]
//   java Driver fetch DIR URL [--branch B]
//   java Driver push DIR URL [SRC]:DST [--force]
//
// JGit 4.11 speaks protocol v0 only and cannot fetch shallow (both came in
// JGit 5 and 6). HTTP: Basic auth, user "git", password $AUGER_TOKEN. SSH
// (JSch): the key in $AUGER_SSH_KEY (JSch reads PEM keys, not ed25519), host
// keys from $AUGER_KNOWN_HOSTS, checked strictly.

import com.jcraft.jsch.JSch;
import com.jcraft.jsch.JSchException;
import com.jcraft.jsch.Session;
import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.api.TransportConfigCallback;
import org.eclipse.jgit.api.errors.GitAPIException;
import org.eclipse.jgit.lib.Ref;
import org.eclipse.jgit.lib.StoredConfig;
import org.eclipse.jgit.transport.JschConfigSessionFactory;
import org.eclipse.jgit.transport.OpenSshConfig;
import org.eclipse.jgit.transport.PushResult;
import org.eclipse.jgit.transport.RefSpec;
import org.eclipse.jgit.transport.RemoteRefUpdate;
import org.eclipse.jgit.transport.SshTransport;
import org.eclipse.jgit.transport.TagOpt;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.eclipse.jgit.util.FS;

public class Driver {
	static void die(String msg) {
		System.err.println("jgit-driver: " + msg);
		System.exit(1);
	}

	static String env(String name) {
		String v = System.getenv(name);
		if (v == null || v.isEmpty())
			die("ssh URL needs " + name);
		return v;
	}

	// The key and host keys of the environment, for every SSH session.
	static class Ssh extends JschConfigSessionFactory {
		@Override
		protected void configure(OpenSshConfig.Host host, Session session) {
			session.setConfig("StrictHostKeyChecking", "yes");
		}

		@Override
		protected JSch createDefaultJSch(FS fs) throws JSchException {
			JSch jsch = new JSch();
			jsch.addIdentity(env("AUGER_SSH_KEY"));
			jsch.setKnownHosts(env("AUGER_KNOWN_HOSTS"));
			return jsch;
		}
	}

	static final TransportConfigCallback SSH = t -> {
		if (t instanceof SshTransport)
			((SshTransport) t).setSshSessionFactory(new Ssh());
	};

	static final UsernamePasswordCredentialsProvider HTTP =
	    new UsernamePasswordCredentialsProvider("git",
		System.getenv().getOrDefault("AUGER_TOKEN", ""));

	// Options after the positional arguments, "--flag" or "--flag value".
	static Map<String, String> options(List<String> args, List<String> valued) {
		Map<String, String> o = new TreeMap<>();
		for (int i = 0; i < args.size(); i++) {
			String a = args.get(i);
			if (!a.startsWith("--"))
				die("unexpected argument " + a);
			String k = a.substring(2);
			if (valued.contains(k)) {
				if (++i >= args.size())
					die(a + " needs a value");
				o.put(k, args.get(i));
			} else
				o.put(k, "");
		}
		return o;
	}

	static void lsRemote(String url, Map<String, String> o) throws GitAPIException {
		Map<String, Ref> refs = Git.lsRemoteRepository().setRemote(url)
		    .setCredentialsProvider(HTTP).setTransportConfigCallback(SSH)
		    .callAsMap();
		System.out.println("protocol 1");
		for (Ref r : new TreeMap<>(refs).values())
			System.out.println(r.getObjectId().name() + " " + r.getName());
	}

	static void fetch(Git git, String url, String branch, boolean tags)
	    throws GitAPIException {
		String b = branch == null ? "*" : branch;
		git.fetch().setRemote(url)
		    .setRefSpecs(new RefSpec("+refs/heads/" + b + ":refs/remotes/origin/" + b))
		    .setTagOpt(tags ? TagOpt.FETCH_TAGS : TagOpt.NO_TAGS)
		    .setCredentialsProvider(HTTP).setTransportConfigCallback(SSH)
		    .call();
	}

	static void cloneRepo(String url, File dir, Map<String, String> o) throws Exception {
		String branch = o.getOrDefault("branch", "main");
		try (Git git = Git.init().setDirectory(dir).call()) {
			StoredConfig c = git.getRepository().getConfig();
			c.setString("remote", "origin", "url", url);
			c.save();
			fetch(git, url, o.containsKey("single-branch") ? branch : null,
			    !o.containsKey("no-tags"));
			git.checkout().setCreateBranch(true).setName(branch)
			    .setStartPoint("refs/remotes/origin/" + branch).call();
		}
	}

	static void push(File dir, String url, String spec, Map<String, String> o) throws Exception {
		List<String> refused = new ArrayList<>();
		try (Git git = Git.open(dir)) {
			for (PushResult res : git.push().setRemote(url)
			    .setRefSpecs(new RefSpec(spec)).setForce(o.containsKey("force"))
			    .setCredentialsProvider(HTTP).setTransportConfigCallback(SSH)
			    .call()) {
				for (RemoteRefUpdate u : res.getRemoteUpdates()) {
					RemoteRefUpdate.Status s = u.getStatus();
					if (s != RemoteRefUpdate.Status.OK && s != RemoteRefUpdate.Status.UP_TO_DATE)
						refused.add(u.getRemoteName() + ": " + s + " " + u.getMessage());
				}
			}
		}
		if (!refused.isEmpty())
			die("push refused: " + String.join("; ", refused));
	}

	public static void main(String[] argv) {
		List<String> a = List.of(argv);
		if (a.size() < 2)
			die("usage: see the top of Driver.java");
		try {
			switch (a.get(0)) {
			case "ls-remote":
				lsRemote(a.get(1), options(a.subList(2, a.size()), List.of()));
				break;
			case "clone":
				cloneRepo(a.get(1), new File(a.get(2)),
				    options(a.subList(3, a.size()), List.of("branch")));
				break;
			case "fetch":
				try (Git git = Git.open(new File(a.get(1)))) {
					Map<String, String> o = options(a.subList(3, a.size()), List.of("branch"));
					fetch(git, a.get(2), o.get("branch"), false);
				}
				break;
			case "push":
				push(new File(a.get(1)), a.get(2), a.get(3),
				    options(a.subList(4, a.size()), List.of()));
				break;
			default:
				die("usage: see the top of Driver.java");
			}
		} catch (IndexOutOfBoundsException e) {
			die("usage: see the top of Driver.java");
		} catch (Exception e) {
			die(a.get(0) + ": " + e);
		}
		System.exit(0);
	}
}
